"""Random one-time codes and client secrets, stored only as SHA-256 digests.

They are high-entropy random values (not human passwords), so a fast digest is safe to store and
lets the server look them up by digest.
"""

from __future__ import annotations

import hashlib
import secrets

# Crockford base32: no I, L, O, U, so a code read aloud or typed is hard to get wrong.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 12  # 60 bits


# Generated usernames: lower case, no 0/o or 1/l/i, so they read aloud and type on a phone.
_USERNAME_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def new_username() -> str:
    """A sign-in name for a patient without an email, like `pt-7k3q-9mwz` (40 bits: unique
    by the database's index, and no secret: the password guards the account)."""
    chars = "".join(secrets.choice(_USERNAME_ALPHABET) for _ in range(8))
    return f"pt-{chars[:4]}-{chars[4:]}"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_activation_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


def normalize_activation_code(code: str) -> str:
    """Accepts the code as typed: any case, with or without dashes and spaces."""
    raw = code.replace("-", "").replace(" ", "").upper()
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_client_id() -> str:
    return "dev_" + secrets.token_hex(12)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)
