"""Text to be translated later, once the reader's locale is known."""

from __future__ import annotations

from typing import Any

from standalone.i18n.catalogue import t


class Text:
    """A catalogue key and its values; rendered in the reader's locale when sent."""

    __slots__ = ("key", "values")

    def __init__(self, key: str, /, **values: Any) -> None:
        self.key = key
        self.values = values

    def render(self, locale: str | None) -> str:
        """The text in ``locale``; values that are Text themselves are rendered too."""
        filled = {
            name: value.render(locale) if isinstance(value, Text) else value
            for name, value in self.values.items()
        }
        return t(locale, self.key, **filled)

    def __repr__(self) -> str:
        return f"Text({self.key!r}, **{self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.key, self.values) == (other.key, other.values)

    def __hash__(self) -> int:
        return hash(self.key)
