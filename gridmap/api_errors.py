"""API errors beyond DRF's own: 422 for well-formed input with impossible content."""

from rest_framework import status
from rest_framework.exceptions import APIException


class Unprocessable(APIException):
    """422: the request is well formed but cannot be done (outside the district, unknown code)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request is well formed but cannot be processed."
    default_code = "unprocessable"
