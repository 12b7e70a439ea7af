"""API errors: one JSON shape for every failure, naming the field when one is at fault."""

from __future__ import annotations

import re

import msgspec


class ErrorDetail(msgspec.Struct, kw_only=True):
    """What went wrong; ``field`` is a dotted path into the request body, when one is at fault."""

    status: int
    message: str
    field: str | None = None


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every error response: ``{"error": {...}}``."""

    error: ErrorDetail


class ApiError(Exception):
    """Raised by handlers and services; the error middleware turns it into ``ErrorBody``."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self) -> ErrorBody:
        return ErrorBody(
            error=ErrorDetail(status=self.status, message=self.message, field=self.field)
        )


def unauthorized(message: str = "log in first") -> ApiError:
    return ApiError(401, message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"no such {what}")


def invalid(field: str | None, message: str) -> ApiError:
    """422: the body was understood but a value is not acceptable."""
    return ApiError(422, message, field)


_AT = re.compile(r"^(?P<message>.*?) - at `\$(?P<path>[^`]*)`$")


def from_validation(error: msgspec.ValidationError) -> ApiError:
    """msgspec says "Expected `int`, got `str` - at `$.colour`"; the field is ``colour``."""
    text = str(error)
    match = _AT.match(text)
    message, path = (match["message"], match["path"]) if match else (text, "")
    path = re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", message)
    if unknown:
        path = f"{path}.{unknown[1]}" if path else unknown[1]
        message = "unknown field"
    missing = re.fullmatch(r"Object missing required field `(.+)`", message)
    if missing:
        path = f"{path}.{missing[1]}" if path else missing[1]
        message = "required"
    return invalid(path or None, message)
