"""The managers' admin: runs (with start pages and confirmed actions), the audit log and the
platform records, each scoped to the user's organizations by a selector."""

from . import audit, platform, runs, schedules  # noqa: F401  (registers the ModelAdmins)
