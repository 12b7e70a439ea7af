"""HMAC-signed cookie values, with a key derived from the deployment's secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from standalone.crypto import Cipher

COOKIE_KEY_PURPOSE = "tickets http cookies v1"


class Signer:
    """``sign`` appends a MAC to a value; ``unsign`` returns the value only if the MAC holds."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_cipher(cls, cipher: Cipher) -> Signer:
        return cls(cipher.derive_key(COOKIE_KEY_PURPOSE))

    def _mac(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, value: str) -> str:
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str) -> str | None:
        value, sep, mac = signed.rpartition(".")
        if not sep or not hmac.compare_digest(mac, self._mac(value)):
            return None
        return value
