"""Command names and descriptions registered with Discord in every supported locale."""

from __future__ import annotations

import os
from typing import Any

import disnake
from disnake.ext import commands

from standalone.i18n.catalogue import catalogue
from standalone.i18n.locales import DEFAULT, SUPPORTED


class CatalogueLocalisations(disnake.LocalizationProtocol):
    """disnake's localisation provider, reading the bot's own catalogues."""

    def get(self, key: str) -> dict[str, str] | None:
        """Every supported locale's text for ``key`` (plain strings only)."""
        found = {
            locale: value
            for locale in SUPPORTED
            if isinstance(value := catalogue(locale).get(key), str)
        }
        return found or None

    def load(self, path: str | os.PathLike[str]) -> None:
        """The catalogues ship with the bot; there is nothing else to load."""
        raise RuntimeError("the bot's catalogues are loaded from standalone/i18n/locales")


def localised(key: str) -> disnake.Localized[str]:
    """A command name, option name or description: en-GB by default, the rest localised.

    ``key`` is a full catalogue key in an area whose name starts with ``cmd`` (the locale
    lint holds those to Discord's limits): ``cmd_<area>.<command>.name``,
    ``cmd_<area>.<command>.description``, ``cmd_<area>.<command>.<option>.name``.
    """
    default = catalogue(DEFAULT).get(key)
    if not isinstance(default, str):
        raise KeyError(f"no en-GB text for command key {key!r}")
    return disnake.Localized(default, key=key)


def option(key: str, **kwargs: Any) -> Any:
    """A slash command option whose name and description are ``key.name``/``key.description``.

    Other ``commands.Param`` arguments (``default``, ``choices``, ``max_length``, …) pass
    through unchanged.
    """
    return commands.Param(
        name=localised(f"{key}.name"), description=localised(f"{key}.description"), **kwargs
    )


def choices(key: str, values: list[str]) -> list[disnake.OptionChoice]:
    """Choices shown localised, each ``key.<value>``; the command receives the value."""
    return [disnake.OptionChoice(localised(f"{key}.{value}"), value) for value in values]
