"""CURVE key pairs and the allow-list (public key -> name, logins, role).

Key files are small TOML files:

    # server.key  (keep secret, mode 0600)
    public = "<40 Z85 chars>"
    secret = "<40 Z85 chars>"

The allow-list is TOML with one `[[allow]]` table per terminal key:

    [[allow]]
    name = "trader-1001"            # the key id the ZAP handler hands to the daemon (User-Id)
    public_key = "<40 Z85 chars>"
    logins = [1001]                 # the accounts this key may speak for
    role = "trader"                 # trader | investor | admin | monitor
    gateway = false                 # optional: true = a server-side gateway speaks for these logins

Roles: `trader` / `investor` keys speak for their logins on the ROUTER; `admin` keys (no
logins) use the admin endpoint and may read the monitoring feed; `monitor` keys (no logins)
may only read the monitoring feed (the XPUB socket, docs/protocol.md §13).

**Gateway keys** (`gateway = true`, trader or investor role): the key of a server-side gateway
(a trade-server plugin or a manager gateway, docs/deployment-modes.md) that speaks for many
logins over one connection, in place of an EA in each account's terminal. The wire is the
same, so the daemon cannot tell them apart; the flag only says who serves a login: a login
listed by a gateway key may be listed by no other key (an EA and the gateway both trading one
investor account would execute each copy twice), and the list is refused on load (and on a
live reload) naming the login and both keys, e.g. `login 3001 is claimed by gateway key
'gw-investors' and by key 'inv-3001': a login is served by exactly one of them`."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from zmq.utils import z85

ROLES = ("trader", "investor", "admin", "monitor")
LOGINLESS_ROLES = ("admin", "monitor")  # keys bound to no login
TERMINAL_ROLES = ("trader", "investor")  # keys the ROUTER admits (a monitor key is feed only)
FEED_ROLES = ("admin", "monitor")  # keys the monitoring feed admits
_Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


def valid_z85_key(text: object) -> bool:
    if not isinstance(text, str) or not _Z85.match(text):
        return False
    try:
        return len(z85.decode(text.encode())) == 32
    except Exception:  # noqa: BLE001
        return False


@dataclass(frozen=True, slots=True)
class KeyPair:
    public: str
    secret: str | None


@dataclass(frozen=True, slots=True)
class AllowEntry:
    name: str
    public_key: str
    logins: tuple[int, ...]
    role: str
    gateway: bool = False  # a server-side gateway serves these logins (no other key may list them)
    # `login in entry.login_set` is O(1): one key may speak for 10 000 investor logins
    login_set: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "login_set", frozenset(self.logins))


class AllowList:
    """Lookup by public key (Z85) and by key name."""

    __slots__ = ("by_key", "by_name", "entries")

    def __init__(self, entries: tuple[AllowEntry, ...]) -> None:
        self.entries = entries
        self.by_key: dict[str, AllowEntry] = {}
        self.by_name: dict[str, AllowEntry] = {}
        for e in entries:
            if e.public_key in self.by_key:
                raise ValueError(f"public key of {e.name!r} is listed twice")
            if e.name in self.by_name:
                raise ValueError(f"key name {e.name!r} is listed twice")
            self.by_key[e.public_key] = e
            self.by_name[e.name] = e
        _check_gateway_logins(entries)

    def __len__(self) -> int:
        return len(self.entries)


def _check_gateway_logins(entries: tuple[AllowEntry, ...]) -> None:
    """A login a gateway key lists is listed by no other key (one server per login)."""
    served: dict[int, AllowEntry] = {}
    for e in entries:
        if e.gateway:
            for login in e.logins:
                other = served.setdefault(login, e)
                if other is not e:
                    raise ValueError(_claimed_twice(login, other, e))
    if not served:
        return
    for e in entries:
        if e.gateway:
            continue
        for login in e.logins:
            gw = served.get(login)
            if gw is not None:
                raise ValueError(_claimed_twice(login, gw, e))


def _claimed_twice(login: int, gateway: AllowEntry, other: AllowEntry) -> str:
    kind = "gateway key" if other.gateway else "key"
    return (f"login {login} is claimed by gateway key {gateway.name!r} and by {kind} {other.name!r}: "
            "a login is served by exactly one of them (an EA or a gateway)")


def parse_allow_entries(value: object, where: str) -> list[AllowEntry]:
    """Validate `[[allow]]` tables; ValueError("key: problem")."""
    if not isinstance(value, list):
        raise ValueError(f"{where}: must be an array of tables ([[allow]])")
    out = []
    for i, t in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(t, dict):
            raise ValueError(f"{at}: must be a table")
        for k in t:
            if k not in ("name", "public_key", "logins", "role", "gateway"):
                raise ValueError(f"{at}.{k}: unknown key (known: gateway, logins, name, public_key, role)")
        name = t.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{at}.name: must be 1-64 characters of A-Z a-z 0-9 _ . : @ -, got {name!r}")
        pk = t.get("public_key")
        if not valid_z85_key(pk):
            raise ValueError(f"{at}.public_key: must be a 40-character Z85 CURVE public key")
        logins = t.get("logins", [])
        if not isinstance(logins, list) or not all(type(x) is int and 0 < x < 2**63 for x in logins):
            raise ValueError(f"{at}.logins: must be a list of positive account numbers")
        role = t.get("role", "trader")
        if role not in ROLES:
            raise ValueError(f"{at}.role: must be one of {', '.join(ROLES)}, got {role!r}")
        if role not in LOGINLESS_ROLES and not logins:
            raise ValueError(f"{at}.logins: a {role} key must be bound to at least one login")
        if role == "monitor" and logins:
            raise ValueError(f"{at}.logins: a monitor key reads the feed only and is bound to no login")
        gateway = t.get("gateway", False)
        if not isinstance(gateway, bool):
            raise ValueError(f"{at}.gateway: must be true or false, got {gateway!r}")
        if gateway and role not in TERMINAL_ROLES:
            raise ValueError(f"{at}.gateway: only a trader or investor key can be a gateway (this one is {role})")
        out.append(AllowEntry(name, pk, tuple(logins), role, gateway))  # type: ignore[arg-type]
    return out


def generate_keypair() -> KeyPair:
    public, secret = zmq.curve_keypair()
    return KeyPair(public.decode("ascii"), secret.decode("ascii"))


def keypair_toml(pair: KeyPair, comment: str = "") -> str:
    lines = [f"# {comment}"] if comment else []
    lines.append(f'public = "{pair.public}"')
    if pair.secret is not None:
        lines.append(f'secret = "{pair.secret}"')
    return "\n".join(lines) + "\n"


def write_keypair(path: Path, pair: KeyPair, comment: str = "") -> None:
    """Write a key file; a file holding a secret key is created with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if pair.secret else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(keypair_toml(pair, comment))


def read_keypair(path: Path) -> KeyPair:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    public, secret = data.get("public"), data.get("secret")
    if not valid_z85_key(public):
        raise ValueError("`public` must be a 40-character Z85 key")
    if secret is not None and not valid_z85_key(secret):
        raise ValueError("`secret` must be a 40-character Z85 key")
    if secret is not None and zmq.curve_public(secret.encode()).decode() != public:
        raise ValueError("`public` does not belong to `secret`")
    return KeyPair(public, secret)


def allow_entry_toml(name: str, public: str, logins: list[int] | tuple[int, ...], role: str, *,
                     gateway: bool = False) -> str:
    return (f"[[allow]]\nname = \"{name}\"\npublic_key = \"{public}\"\n"
            f"logins = [{', '.join(str(x) for x in logins)}]\nrole = \"{role}\"\n"
            + ("gateway = true\n" if gateway else ""))


# --- the allow-list file, edited in place ---------------------------------------------------

_BLOCK = re.compile(r"(?m)^(?=\[\[allow\]\][ \t]*(?:#.*)?$)")


def _blocks(text: str) -> list[str]:
    """The file cut before each `[[allow]]` header (the first piece: what precedes them)."""
    return _BLOCK.split(text)


def _block_name(block: str) -> str | None:
    if not block.startswith("[[allow]]"):
        return None
    try:
        entries = tomllib.loads(block).get("allow", [])
    except tomllib.TOMLDecodeError:
        return None
    return entries[0].get("name") if entries and isinstance(entries[0], dict) else None


def allow_entry_public(path: Path, name: str) -> str | None:
    """The public key listed for `name` in an allow-list file, if any."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for e in data.get("allow", []):
        if isinstance(e, dict) and e.get("name") == name:
            return e.get("public_key")
    return None


def upsert_allow_entry(path: Path, name: str, entry: str) -> str:
    """Put `entry` (one `[[allow]]` table) in the file: in place of `name`'s entry (an older
    duplicate of it is removed), or appended. Comments and the other entries stay as they
    are; the result is validated before it is written (atomically). Returns "updated" or
    "added"; ValueError (one line) if the file is not a valid allow-list."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    blocks = _blocks(text)
    out, action = [], "added"
    for block in blocks:
        if _block_name(block) == name:
            if action == "added":
                tail = block[len(block.rstrip("\n")):] or "\n"
                out.append(entry.rstrip("\n") + tail)
                action = "updated"
            continue  # a duplicate left by an older version: dropped
        out.append(block)
    if action == "added":
        if out and out[-1] and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(("\n" if "".join(out).strip() else "") + entry)
    new_text = "".join(out)
    try:
        AllowList(tuple(parse_allow_entries(tomllib.loads(new_text).get("allow", []), "allow")))
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    tmp.replace(path)
    return action
