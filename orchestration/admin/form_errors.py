"""DRF's validation errors as the admin shows them. A serializer's errors (a ValidationError's
`detail`) are messages in dicts and lists, nested as the body is ({"client": {"email":
["..."]}}); the admin puts each on the form field it is about (the form field of the nested
`client.email` is `client__email`), or names that field before the message
(`client.email: ...`). Errors of the whole body (`non_field_errors`) name no field."""

from collections.abc import Iterator

from django import forms
from rest_framework.settings import api_settings

# The form field of a nested serializer's field: `<parent>__<child>`.
NESTED = "__"


def _messages(errors, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Each message with the path of the field it is about."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            inner = path if key == api_settings.NON_FIELD_ERRORS_KEY else (*path, str(key))
            yield from _messages(value, inner)
    elif isinstance(errors, list | tuple):
        for item in errors:
            yield from _messages(item, path)
    else:
        yield path, str(errors)


def _line(path: tuple[str, ...], message: str) -> str:
    return f"{'.'.join(path)}: {message}" if path else message


def error_lines(errors) -> list[str]:
    """Each message after the field it is about: `client.email: Enter a valid email.`"""
    return [_line(path, message) for path, message in _messages(errors)]


def error_text(error: Exception) -> str:
    """An exception as one message: a DRF error's messages (its `detail`) as `error_lines`
    joined by "; ", any other exception's own text."""
    detail = getattr(error, "detail", None)
    return str(error) if detail is None else "; ".join(error_lines(detail))


def add_form_errors(form: forms.BaseForm, errors, *, field: str | None = None) -> None:
    """`errors` added to `form`. With `field`, all on that field (the form field that holds the
    whole body), each naming the part of the body it is about. Otherwise each on the form
    field it is about, or, when the form has no such field, on the form, naming it."""
    if field is not None:
        lines = error_lines(errors)
        if lines:
            form.add_error(field, lines)
        return
    for path, message in _messages(errors):
        name = NESTED.join(path)
        if path and name in form.fields:
            form.add_error(name, message)
        else:
            form.add_error(None, _line(path, message))
