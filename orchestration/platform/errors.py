class DataValidationError(Exception):
    """The input can never succeed as given; retrying won't help. Shown to the user verbatim."""
