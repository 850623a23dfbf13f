def workflow_type_choices() -> list[tuple[str, str]]:
    """The registered workflow types as model and filter choices. A callable, evaluated when
    asked: the registry imports the models, so the models can't import it."""
    from .registry import workflow_type_choices as choices

    return choices()
