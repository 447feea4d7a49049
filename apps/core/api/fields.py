"""Serializer fields that take JSON as it is written, and query parameters given once."""

import re
from typing import Any

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.http import QueryDict
from rest_framework import serializers

NO_NUL = RegexValidator(r"^[^\x00]*$", message="Null characters are not allowed.")


class StrictCharField(serializers.CharField):
    """A JSON string, and only a string: DRF would quietly turn 5 or 1.5 into text.

    NUL characters are refused (PostgreSQL cannot store them), and the schema says so.
    """

    default_error_messages = {"not_a_string": "Expected a string but got {type}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validators"] = [*kwargs.get("validators", []), NO_NUL]
        super().__init__(**kwargs)
        # DRF's own NUL check says the same again; NO_NUL stays, as it puts it in the schema.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", type=type(data).__name__)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A whole number: a JSON integer (not true, 3.0 or "3"); in a query string, where
    every value is text, digits."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str) and not (
            isinstance(self.root, QueryParamsSerializer) and re.fullmatch(r"-?[0-9]+", data)
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string: DRF would take ``false`` for the nil UUID."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class QueryParamsSerializer(serializers.Serializer):
    """Query parameters, each given at most once (``?a=1&a=2`` is ambiguous), and none
    empty unless blank means something (DRF would read ``?since=`` as absent)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            wrong: dict[str, list[str]] = {}
            for name, field in self.fields.items():
                values = data.getlist(name)
                if len(values) > 1:
                    wrong[name] = ["Give this parameter once."]
                elif values == [""] and not getattr(field, "allow_blank", False):
                    wrong[name] = ["Give a value, or leave the parameter out."]
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)
