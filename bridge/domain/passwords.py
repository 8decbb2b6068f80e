"""Password policy of seed 000: 6 to 15 characters, only A-Z a-z 0-9, and at least one
lower-case letter, one upper-case letter and one digit ("A password example: yS22Fr45")."""

from __future__ import annotations

import string

from bridge.domain.errors import Refusal

MIN_LENGTH, MAX_LENGTH = 6, 15
_ALLOWED = frozenset(string.ascii_letters + string.digits)


def password_problems(password: str) -> list[Refusal]:
    """One clear message per violated rule; empty when the password is acceptable."""
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(Refusal("password_length",
                                f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long (has {len(password)})"))
    bad = sorted({c for c in password if c not in _ALLOWED})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        problems.append(Refusal("password_charset", f"may contain only A-Z, a-z and 0-9 (found {shown})"))
    if not any(c in string.ascii_lowercase for c in password):
        problems.append(Refusal("password_lowercase", "must contain a lower-case letter (a-z)"))
    if not any(c in string.ascii_uppercase for c in password):
        problems.append(Refusal("password_uppercase", "must contain an upper-case letter (A-Z)"))
    if not any(c in string.digits for c in password):
        problems.append(Refusal("password_digit", "must contain a digit (0-9)"))
    return problems
