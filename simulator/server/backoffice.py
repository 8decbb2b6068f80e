"""Back-office helpers (seed 000): e-mail normalisation and password storage.

Passwords are checked with `bridge.domain.passwords.password_problems` and stored as
``hashlib.scrypt`` hashes. The salt is derived deterministically from the login and the
password kind (``sha256(f"{login}:{kind}")[:16]``) so a simulated run stays reproducible
(no ``os.urandom``); a production server must use a random per-password salt instead.
"""

from __future__ import annotations

import hashlib
import hmac

from bridge.domain.errors import Refusal
from bridge.domain.passwords import password_problems

SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 8, 1, 32


def normalise_email(email: str) -> str | None:
    """Lower-cased, trimmed e-mail, or None when it does not look like one."""
    if not isinstance(email, str):
        return None
    e = email.strip().lower()
    local, sep, domain = e.partition("@")
    if not sep or not local or "." not in domain or " " in e or domain.startswith("."):
        return None
    return e


def salt_for(login: int, kind: str) -> bytes:
    """Deterministic per-account, per-kind salt (simulation only; see module docstring)."""
    return hashlib.sha256(f"{login}:{kind}".encode()).digest()[:16]


def hash_password(password: str, login: int, kind: str, n: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt_for(login, kind), n=n, r=SCRYPT_R,
                          p=SCRYPT_P, dklen=SCRYPT_LEN)


def check_password(password: str, stored: bytes, login: int, kind: str, n: int) -> bool:
    if not isinstance(password, str):
        return False
    return hmac.compare_digest(hash_password(password, login, kind, n), stored)


def password_refusal(master: str, investor: str) -> Refusal | None:
    """All policy problems of both passwords in one refusal (code ``password_policy``)."""
    msgs = []
    for kind, pw in (("master", master), ("investor", investor)):
        if not isinstance(pw, str):
            msgs.append(f"{kind} password: must be a string")
            continue
        msgs.extend(f"{kind} password {p.detail} [{p.code}]" for p in password_problems(pw))
    if msgs:
        return Refusal("password_policy", "; ".join(msgs))
    if master == investor:
        # Not in seed 000's policy, but one password must not open both modes: a login with
        # it would be ambiguous between trading and read-only access.
        return Refusal("password_policy", "investor password must differ from the master password")
    return None
