"""Types shared by request bodies: ids, and turning a partial Struct into changes."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from standalone.db.settings import SettingsError
from standalone.http.errors import ApiError, invalid

Snowflake = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$", description="A Discord id")]
Duration = Annotated[int, msgspec.Meta(ge=0, le=366 * 24 * 3600 * 1000, description="ms")]


def changes_of(body: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body sets (UNSET ones are left out; null is a value)."""
    return {
        name: value
        for name in body.__struct_fields__
        if (value := getattr(body, name)) is not msgspec.UNSET
    }


_FIELD = re.compile(r"^(?P<field>[a-z_/]+): (?P<message>.+)$")


def settings_error(exc: SettingsError) -> ApiError:
    """The repository says "name: must be 1 to 50 characters"; 422 naming ``name``."""
    text = str(exc)
    if "exists already" in text:
        return ApiError(409, text, "name")
    if "at most" in text and ("categories" in text or "questions" in text):
        return ApiError(409, text)
    match = _FIELD.match(text)
    if match is None:
        return invalid(None, text)
    field = match["field"].split("/")[0].split(" and ")[0]
    return invalid(field, match["message"])
