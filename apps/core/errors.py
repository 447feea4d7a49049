from typing import Any


class ApplicationError(Exception):
    """The one error type the domain raises.

    ``message`` is safe to show to a user; ``extra`` carries structured details
    (the field at fault, the allowed values...) for API clients and logs.
    """

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
