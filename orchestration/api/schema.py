from drf_spectacular.openapi import AutoSchema


class WorkflowStartSchema(AutoSchema):
    """The start view serves every workflow type: each route's operation is described by
    its type's unit."""

    def get_summary(self):
        return f"Start a {self.view.unit.label.lower()} run"

    def get_description(self):
        return f"{self.view.unit.definition.description}\n\n{super().get_description()}"


def strip_optional_trailing_slashes(result, generator, request, public):
    """Routes accept a path with or without a trailing slash (`/?$`); document the canonical
    form without it, as the API's users write it."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result
