"""Discord's JSON error codes and the exception the REST layer turns into them."""

from __future__ import annotations

from typing import Any

GENERAL = 0
UNKNOWN_APPLICATION = 10002
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_OVERWRITE = 10009
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_ROLE = 10011
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_COMMAND = 10063
NOT_AUTHORIZED_FOR_APPLICATION = 20012
INTERACTION_ALREADY_ACKNOWLEDGED = 40060
MISSING_ACCESS = 50001
CANNOT_SEND_EMPTY_MESSAGE = 50006
CANNOT_MESSAGE_USER = 50007
WRONG_CHANNEL_TYPE = 50024
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035


class DiscordError(Exception):
    """An API failure with Discord's status, code and message (``errors`` for form errors)."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def not_found(code: int, what: str) -> DiscordError:
    return DiscordError(404, code, f"Unknown {what}")


def unauthorized() -> DiscordError:
    return DiscordError(401, GENERAL, "401: Unauthorized")


def missing_permissions() -> DiscordError:
    return DiscordError(403, MISSING_PERMISSIONS, "Missing Permissions")


def missing_access() -> DiscordError:
    return DiscordError(403, MISSING_ACCESS, "Missing Access")


def form_error(path: list[str], code: str, message: str) -> DiscordError:
    """A 50035 naming the offending field the way Discord nests it (``{"a": {"0": {...}}}``)."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)
