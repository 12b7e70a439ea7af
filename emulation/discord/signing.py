"""Ed25519 request signing, as Discord signs what it POSTs to an interactions endpoint."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


def new_key_pair() -> tuple[bytes, str]:
    """A private key (raw 32-byte seed) and its public key in hex, Discord's ``verify_key``."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return seed, public.hex()


def sign(seed: bytes, timestamp: str, body: bytes) -> str:
    """The X-Signature-Ed25519 header: hex signature over timestamp + body."""
    return Ed25519PrivateKey.from_private_bytes(seed).sign(timestamp.encode() + body).hex()
