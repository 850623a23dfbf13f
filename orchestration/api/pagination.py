from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


def _whole_number(value: str, minimum: int, maximum: int | None = None) -> int | None:
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        return None
    return number


class StandardPagination(PageNumberPagination):
    """Pages from 1 (`last` for the last one); `page_size` from 1 to 200. A page or size
    that isn't one of those is a 400 (DRF would answer 404, or ignore the size); a page past
    the last one is a 404, as DRF answers it."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200

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
        return parameters
