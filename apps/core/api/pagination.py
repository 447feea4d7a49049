"""Cursor paging for the API's lists."""

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class PositionCursorPagination(CursorPagination):
    """Cursor paging in curated order; a tampered cursor is a 400, never a 500."""

    ordering = ("position", "id")
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        self.page_size = settings.API_TRACKS_PAGE_SIZE
        self.max_page_size = settings.API_TRACKS_MAX_PAGE_SIZE

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError({self.cursor_query_param: [str(exc.detail)]}) from exc
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError as exc:
                raise exceptions.ValidationError(
                    {self.cursor_query_param: ["Invalid cursor."]}
                ) from exc
        return cursor
