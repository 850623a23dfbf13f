from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination


def _whole_number(value: str, minimum: int, maximum: int | None = None) -> int | None:
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        return None
    return number


class _KeysetPagination(CursorPagination):
    """DRF's cursor pagination (an opaque position: `WHERE created_at < ?`, no COUNT, no
    OFFSET), a bad cursor a 400 like any bad parameter."""

    def __init__(self, *, ordering: tuple[str, ...], page_size: int) -> None:
        self.ordering = ordering
        self.page_size = page_size

    def get_page_size(self, request):
        return self.page_size

    def get_ordering(self, request, queryset, view):
        return self.ordering

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            message = "Not a cursor of this list."
            raise ValidationError({self.cursor_query_param: [message]}) from None


class StandardPagination(PageNumberPagination):
    """Pages from 1 (`last` for the last one); `page_size` from 1 to 200. A page or size
    that isn't one of those is a 400 (DRF would answer 404, or ignore the size); a page past
    the last one is a 404, as DRF answers it.

    Views that name a `cursor_ordering` (the run and audit lists) also page by cursor: with a
    `cursor` parameter (empty for the first page) the answer is `{next, previous, results}`
    without `count`, and each page costs the same however deep it is and however many rows
    the list has (no COUNT over the list, no OFFSET). `page` and `cursor` don't mix, and a
    cursor list has its view's fixed order (no `ordering`)."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_param = "cursor"
    keyset: _KeysetPagination | None = None

    def paginate_queryset(self, queryset, request, view=None):
        ordering = getattr(view, "cursor_ordering", None)
        if ordering and self.cursor_query_param in request.query_params:
            clashes = [
                name for name in (self.page_query_param, "ordering") if name in request.query_params
            ]
            if clashes:
                raise ValidationError(
                    {name: ["Not with `cursor`: a cursor list has one order."] for name in clashes}
                )
            self.keyset = _KeysetPagination(
                ordering=ordering, page_size=self.get_page_size(request)
            )
            return self.keyset.paginate_queryset(queryset, request, view)
        self.keyset = None
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self.keyset is not None:
            return self.keyset.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["results"]
        response["properties"]["count"]["description"] = (
            "How many rows the list has (absent when paging by `cursor`)."
        )
        for link in ("next", "previous"):
            response["properties"][link]["description"] = (
                f"The {link} page's URL (null at the end)."
            )
        return response

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        size = _whole_number(value, 1, self.max_page_size)
        if size is None:
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def get_page_number(self, request, paginator):
        value = request.query_params.get(self.page_query_param, "1")
        if value not in self.last_page_strings and _whole_number(value, 1) is None:
            raise ValidationError({self.page_query_param: ["A whole number from 1, or `last`."]})
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["description"] = (
                    "A page number from 1 (a page past the last one is a 404)."
                )
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        if getattr(view, "cursor_ordering", None):
            parameters.append(
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": (
                        "Page by cursor instead of by number: empty for the first page, then"
                        " the `next` or `previous` link's value. Every page costs the same at"
                        " any depth; the answer has no `count`. Not with `page` or `ordering`."
                    ),
                    "schema": {"type": "string"},
                }
            )
        return parameters
