"""The managers' admin: runs (with start pages and confirmed actions), the audit log, the
platform records, schedules, and organizations with their members, tokens and lockouts; each
scoped to the user's organizations through the authorization door."""

from . import audit, members, platform, runs, schedules  # noqa: F401  (registers the ModelAdmins)
