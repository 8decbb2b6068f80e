"""Dashboard credentials and login throttling.

Password hashes are scrypt, stored as one text field:

    scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>     (n=2**14, r=8, p=1, 16-byte salt, 32-byte hash)

`hash_password(password)` makes one; `verify_password(password, stored)` checks one in
constant time. The users file (TOML, format in docs/monitoring.md) lists dealers by
username and investors by account login:

    [[dealer]]
    username = "desk"
    password = "scrypt$16384$8$1$...$..."

    [[investor]]
    login = 50012
    investor = "inv-001"        # optional: the engine's investor id
    password = "scrypt$16384$8$1$...$..."

`LoginThrottle` rate-limits failures per client address and per login with exponential
backoff; its clock is an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bridge.monitor.views import DEALER, INVESTOR, Principal

SCRYPT_N, SCRYPT_R, SCRYPT_P, SALT_BYTES, HASH_BYTES = 2**14, 8, 1, 16, 32
MIN_PASSWORD = 10  # characters `--hash-password` accepts (the desk acts on accounts)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P,
                  salt: bytes | None = None) -> str:
    if not isinstance(password, str) or not password:
        raise ValueError("password must be a non-empty string")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=0, dklen=HASH_BYTES)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest, validate=True)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True), n=int(n),
                             r=int(r), p=int(p), maxmem=0, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# A hash to check unknown users against, so a wrong login costs the same time as a wrong password.
_DUMMY = hash_password("dummy-password-for-timing", salt=b"\0" * SALT_BYTES)


@dataclass(frozen=True, slots=True)
class User:
    principal: Principal
    password_hash: str


class CredentialStore(Protocol):
    def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal if the credentials are right, else None. Never logs the password."""
        ...


class MemoryCredentialStore:
    """Users keyed by the name typed in the login form: a dealer username or an investor login."""

    def __init__(self, users: Iterable[User] = ()) -> None:
        self.users: dict[str, User] = {}
        for u in users:
            self.add(u)

    def add(self, user: User) -> None:
        key = user.principal.name
        if key in self.users:
            raise ValueError(f"user {key!r} listed twice")
        self.users[key] = user

    def authenticate(self, username: str, password: str) -> Principal | None:
        u = self.users.get(username.strip())
        if u is None:
            verify_password(password, _DUMMY)
            return None
        return u.principal if verify_password(password, u.password_hash) else None


class FileCredentialStore(MemoryCredentialStore):
    """The users TOML file (see the module docstring). Re-read when the file changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._mtime = -1.0
        super().__init__()
        self._load()

    def _load(self) -> None:
        st = self.path.stat()
        data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        self.users = {}
        for i, d in enumerate(data.get("dealer", [])):
            name, pw = d.get("username"), d.get("password")
            if not isinstance(name, str) or not name or name.isdigit():
                raise ValueError(f"{self.path}: dealer[{i}].username must be a non-numeric string")
            self.add(User(Principal(DEALER, name), _checked_hash(pw, f"{self.path}: dealer[{i}].password")))
        for i, d in enumerate(data.get("investor", [])):
            login, pw, inv = d.get("login"), d.get("password"), d.get("investor")
            if type(login) is not int or login <= 0:
                raise ValueError(f"{self.path}: investor[{i}].login must be a positive account number")
            if inv is not None and not isinstance(inv, str):
                raise ValueError(f"{self.path}: investor[{i}].investor must be a string")
            self.add(User(Principal(INVESTOR, str(login), login, inv),
                          _checked_hash(pw, f"{self.path}: investor[{i}].password")))
        unknown = set(data) - {"dealer", "investor"}
        if unknown:
            raise ValueError(f"{self.path}: unknown table(s) {', '.join(sorted(unknown))} (known: dealer, investor)")
        self._mtime = st.st_mtime

    def authenticate(self, username: str, password: str) -> Principal | None:
        try:
            if self.path.stat().st_mtime != self._mtime:
                self._load()
        except (OSError, ValueError):
            pass  # keep the last good table
        return super().authenticate(username, password)


def _checked_hash(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("scrypt$") or value.count("$") != 5:
        raise ValueError(f"{where} must be a scrypt hash (make one with: mtbridge dashboard --hash-password)")
    return value


def users_toml(dealers: Iterable[tuple[str, str]], investors: Iterable[tuple[int, str, str | None]], *,
               n: int = SCRYPT_N) -> str:
    """A users file from clear passwords: dealers (username, password), investors (login, password, id)."""
    lines = ["# mtbridge dashboard users (docs/monitoring.md). Hashes: scrypt$n$r$p$salt$hash."]
    for name, pw in dealers:
        lines += ["", "[[dealer]]", f'username = "{name}"', f'password = "{hash_password(pw, n=n)}"']
    for login, pw, inv in investors:
        lines += ["", "[[investor]]", f"login = {int(login)}"]
        if inv:
            lines.append(f'investor = "{inv}"')
        lines.append(f'password = "{hash_password(pw, n=n)}"')
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass(slots=True)
class LoginThrottle:
    """Failures per key ("ip:1.2.3.4", "login:desk") with exponential lockout.

    After `free` failures, each further failure locks the key for
    `base_s * 2 ** (failures - free - 1)` seconds, capped at `max_s`. A success clears the
    login's record (not the address's). `clock` returns seconds (monotonic in production).
    """

    clock: Callable[[], float]
    free: int = 3
    base_s: float = 1.0
    max_s: float = 900.0
    per_ip_free: int = 10
    _state: dict[str, _Failures] = field(default_factory=dict)

    def _free(self, key: str) -> int:
        return self.per_ip_free if key.startswith("ip:") else self.free

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until every key may try again; 0 = allowed now."""
        now = self.clock()
        return max((max(0.0, f.locked_until - now) for k in keys if (f := self._state.get(k))), default=0.0)

    def failure(self, keys: Iterable[str]) -> None:
        now = self.clock()
        for k in keys:
            f = self._state.setdefault(k, _Failures())
            f.count += 1
            over = f.count - self._free(k)
            if over > 0:
                f.locked_until = now + min(self.max_s, self.base_s * 2 ** (over - 1))
        if len(self._state) > 100_000:  # bound memory: forget records whose lock has expired
            for k in [k for k, f in self._state.items() if f.locked_until < now]:
                del self._state[k]

    def success(self, login_key: str) -> None:
        self._state.pop(login_key, None)


class SessionRegistry:
    """Dashboard sessions that are live, server side. The signed cookie only carries a
    session id; a request is logged in only while that id is here, so logging out (or a
    restart) ends the session even for a copy of the cookie taken before.

    Bounded: entries expire after `max_age_s` (the cookie's own lifetime) and at most
    `max_sessions` live at once (the oldest goes first). `clock` returns seconds (monotonic).

    Example: a dealer logs in (id `a1`), someone copies the cookie, the dealer logs out:
    `alive("a1")` is False, so the copy gets the login page."""

    def __init__(self, clock: Callable[[], float], max_age_s: float, max_sessions: int = 10_000) -> None:
        self.clock, self.max_age_s, self.max_sessions = clock, max_age_s, max_sessions
        self._expires: dict[str, float] = {}  # insertion order = age order

    def open(self) -> str:
        import secrets

        now = self.clock()
        for sid in [k for k, t in self._expires.items() if t <= now]:
            del self._expires[sid]
        while len(self._expires) >= self.max_sessions:
            del self._expires[next(iter(self._expires))]
        sid = secrets.token_urlsafe(32)
        self._expires[sid] = now + self.max_age_s
        return sid

    def alive(self, sid: object) -> bool:
        t = self._expires.get(sid) if isinstance(sid, str) else None
        return t is not None and t > self.clock()

    def close(self, sid: object) -> None:
        if isinstance(sid, str):
            self._expires.pop(sid, None)

    def __len__(self) -> int:
        return len(self._expires)
