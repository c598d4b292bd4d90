"""Which new passwords are refused, following NIST SP 800-63B-4, 3.1.1.2 (password verifiers).

A new password is compared against a blocklist of "commonly used, expected, or compromised"
values: the most frequent passwords of leaked corpora and single dictionary words or names (the
frequency lists that ship with zxcvbn, Dropbox's estimator), a run of one repeated chunk or a
constant-step sequence ("        ", "abcabcabc", "87654321"; SP 800-63B rev. 3, 5.1.1.2), and
context-specific words: the login it goes with (the email, or the activation code it is set
with). No composition rules (digits, symbols, case): the guideline says not to impose them.

Pure functions over strings: the `Password` type (app/schemas.py) applies `weakness`; services,
which know the login, apply `ensure_fits_login`.
"""

from __future__ import annotations

import re
from itertools import pairwise

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.errors import FieldError, Invalid

MIN_LENGTH = 8
# Shorter entries cannot be passwords here; leaving them out keeps the set small (~45k words).
_BLOCKLIST = frozenset(
    word for words in FREQUENCY_LISTS.values() for word in words if len(word) >= MIN_LENGTH
)
# Common substitutions undone before the lookup, so "p@ssw0rd" is "password" (zxcvbn's l33t
# table, reduced to one reading per character).
_UNLEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s"})
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)
# zxcvbn counts steps of up to 5 code points as a sequence ("13579", "acegi").
_MAX_STEP = 5

COMMON = "This password is too common: it is on a list of frequently used passwords and words."
PATTERN = "This password is a repeated or sequential run of characters."


def weakness(password: str) -> str | None:
    """Why `password` is refused whoever sets it, or None."""
    folded = password.strip().casefold()
    if folded in _BLOCKLIST or folded.translate(_UNLEET) in _BLOCKLIST:
        return COMMON
    if _REPEATED.fullmatch(password) or _is_sequence(password):
        return PATTERN
    return None


def _is_sequence(password: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in pairwise(password)}
    return len(steps) == 1 and 0 < abs(steps.pop()) <= _MAX_STEP


def login_problem(
    password: str, *, email: str | None = None, activation_code: str | None = None
) -> str | None:
    """Why `password` may not go with this login (the email or a generated username: it
    equals or contains it), or None."""
    folded = password.casefold()
    # The whole login only: a local part alone ("admin", "j") is often a common word.
    if email and email.casefold() in folded:
        word = "email" if "@" in email else "username"
        return f"The password must not contain the {word}."
    if activation_code:
        code = _compact(activation_code)
        if code and code in _compact(password):
            return "The password must not contain the activation code."
    return None


def _compact(text: str) -> str:
    return re.sub(r"[\s-]", "", text).casefold()


def ensure_fits_login(
    password: str,
    *,
    email: str | None = None,
    activation_code: str | None = None,
    field: str = "password",
) -> None:
    """422 naming `field` when the password equals or contains the login it goes with."""
    problem = login_problem(password, email=email, activation_code=activation_code)
    if problem is not None:
        raise Invalid(
            f"Invalid request: {field}: {problem}",
            fields=[FieldError(path=field, message=problem)],
        )
