"""Errors the console's services raise, independent of how they are shown (API, admin, CLI)."""

from orchestration.temporal.bridge import TemporalUnavailable

__all__ = ["RunStateConflict", "TemporalUnavailable"]


class RunStateConflict(Exception):
    """The operation does not fit the run's current state (e.g. cancelling a finished run)."""
