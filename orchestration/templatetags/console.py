"""Template filters of the console's admin pages."""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration as people read it: `4.2 s`, `3m 05s`, `1h 02m 09s`; `-` when unknown."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{value.total_seconds():.1f} s"
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


@register.filter
def relative(value: str | datetime | None) -> str:
    """An ISO time (as Temporal's readable dicts carry them) relative to now: `3 s ago`,
    `in 12 s`; `-` when unknown."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    seconds = (moment - timezone.now()).total_seconds()
    text = duration(timedelta(seconds=abs(seconds)))
    return f"in {text}" if seconds > 0 else f"{text} ago"
