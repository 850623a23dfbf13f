def strip_optional_trailing_slashes(result, generator, request, public):
    """Routes accept a path with or without a trailing slash (`/?$`); document the canonical
    form without it, as the API's users write it."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result
