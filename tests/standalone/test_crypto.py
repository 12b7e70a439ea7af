import os
import stat

import pytest
from cryptography.fernet import Fernet

from standalone.crypto import KEY_ENV, Cipher, CryptoError, load_cipher


def test_round_trip_and_ciphertext_hides_plaintext():
    cipher = Cipher(Fernet.generate_key())
    token = cipher.encrypt("my secret topic")
    assert "secret" not in token
    assert cipher.decrypt(token) == "my secret topic"


def test_key_file_is_created_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "secret.key"
    first = load_cipher(path, environ={})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_cipher(path, environ={})
    assert again.decrypt(first.encrypt("x")) == "x"


def test_environment_key_wins_and_wrong_key_is_refused(tmp_path):
    key = Fernet.generate_key().decode()
    from_env = load_cipher(tmp_path / "unused.key", environ={KEY_ENV: key})
    assert not (tmp_path / "unused.key").exists()
    other = load_cipher(tmp_path / "other.key", environ={})
    with pytest.raises(CryptoError, match="wrong secret key"):
        other.decrypt(from_env.encrypt("x"))


def test_invalid_key_is_a_clear_error():
    with pytest.raises(CryptoError, match="invalid secret key"):
        Cipher(b"not-a-key")


def test_legacy_plain_values_pass_but_a_token_under_another_key_does_not():
    cipher = Cipher(Fernet.generate_key())
    assert cipher.decrypt_legacy(cipher.encrypt("Alex ✓")) == "Alex ✓"
    # Names archived before they were encrypted are shown as they were stored.
    for plain in ("alex", "Alex Smith", "gAAAAA", "x" * 100, "", "Zoë"):
        assert cipher.decrypt_legacy(plain) == plain
    other = Cipher(Fernet.generate_key())
    with pytest.raises(CryptoError, match="wrong secret key"):
        cipher.decrypt_legacy(other.encrypt("alex"))
