"""Errors the console's services raise, independent of how they are shown (API, admin, CLI)."""

from django.db import InterfaceError, OperationalError

from orchestration.temporal.bridge import TemporalUnavailable

__all__ = ["DATABASE_ERRORS", "RunStateConflict", "TemporalUnavailable"]

# What the database raises when it is busy (SQLite's lock not had within the busy timeout)
# or can't be reached: an outage to wait out, not a bug in the request.
DATABASE_ERRORS = (OperationalError, InterfaceError)


class RunStateConflict(Exception):
    """The operation does not fit the run's current state (e.g. cancelling a finished run)."""
