"""Encryption at rest for sensitive fields, and keyed hashes for exact-match lookup."""

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _fernet_key(secret: str) -> bytes:
    # Accept a real Fernet key or any long secret (derived to 32 bytes).
    try:
        Fernet(secret.encode())
        return secret.encode()
    except ValueError:
        import base64

        return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


@functools.cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return cipher().decrypt(token.encode()).decode()


def lookup_hash(value: str) -> str:
    """HMAC-SHA256 of a normalised value: equal inputs match, the table alone reveals nothing."""
    key = settings.LOOKUP_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plain text. Not searchable: pair with a hash."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except InvalidToken:
            # A key was lost or rotated away: say so instead of showing ciphertext.
            return "[无法解密]"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
