import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError


@cache
def available_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(
            "%(value)s is not a known time zone; use an IANA name such as Europe/Paris.",
            code="invalid_timezone",
            params={"value": value},
        )
