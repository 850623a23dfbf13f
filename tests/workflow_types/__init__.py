"""Workflow types that exist only for tests: a deployment's own types, registered with
OMNIFY_EXTRA_WORKFLOW_PACKAGES (README "Adding a workflow type")."""
