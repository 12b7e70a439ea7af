"""Encryption at rest for bot tokens and ticket content.

The key comes from ``TICKETS_SECRET_KEY`` or, failing that, a key file that is
generated on first use with 0600 permissions.
"""

from __future__ import annotations

import binascii
import os
from base64 import b64decode
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ENV = "TICKETS_SECRET_KEY"
# A Fernet token: version byte 0x80, 8-byte time, 16-byte IV, AES blocks, 32-byte HMAC.
_FERNET_VERSION = 0x80
_FERNET_OVERHEAD = 1 + 8 + 16 + 32
_AES_BLOCK = 16


class CryptoError(Exception):
    """The key is unusable, or a value was not encrypted with it."""


class Cipher:
    """Authenticated symmetric encryption of short strings (Fernet)."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise CryptoError(f"invalid secret key: {exc}") from None
        self._key = key

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (e.g. signing cookies), derived from the secret key.

        HKDF with the purpose as ``info`` keeps every derived key independent of
        the encryption key and of each other.
        """
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._key)

    def encrypt(self, text: str) -> str:
        """Encrypt; the result is ASCII and safe to store as a string."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt; raises CryptoError if the value was tampered with or the key differs."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise CryptoError("cannot decrypt: wrong secret key or damaged value") from None

    def decrypt_legacy(self, value: str) -> str:
        """Decrypt a value that older versions stored in plain text.

        Only a value that is not shaped like a Fernet token is taken as it is: a
        token that fails (wrong key, tampering) still raises, so a key mix-up is
        never shown as gibberish names.
        """
        return self.decrypt(value) if is_token(value) else value


def is_token(value: str) -> bool:
    """Whether ``value`` has the shape of a Fernet token (not whether it decrypts)."""
    try:
        raw = b64decode(value.encode("ascii"), altchars=b"-_", validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    body = len(raw) - _FERNET_OVERHEAD
    return bool(raw) and raw[0] == _FERNET_VERSION and body >= _AES_BLOCK and body % _AES_BLOCK == 0


def load_cipher(key_file: str | Path, environ: Mapping[str, str] | None = None) -> Cipher:
    """Cipher from the environment key, else from ``key_file`` (created if missing)."""
    environ = os.environ if environ is None else environ
    if key := environ.get(KEY_ENV):
        return Cipher(key.encode())
    path = Path(key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL so two processes starting together never write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
                handle.flush()
                os.fsync(handle.fileno())
    return Cipher(path.read_bytes().strip())
