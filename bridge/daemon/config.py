"""Daemon configuration: one TOML file, validated into frozen dataclasses.

Every problem is reported as `ConfigError(file, key, problem)` ("daemon.toml: daemon.heartbeat_ms:
must be a whole number >= 50"); the CLI prints it and exits with status 2. Relative paths
(journal, key files, allow-list) are resolved against the directory of the config file.
See docs/operations.md for the reference of every key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.cluster.config import KEYS, ClusterConfig, parse_cluster
from bridge.copytrading.config import EngineConfig
from bridge.daemon.webhooks import EVENTS as WEBHOOK_EVENTS
from bridge.daemon.webhooks import WebhookConfig
from bridge.daemon.keys import AllowEntry, AllowList, KeyPair, parse_allow_entries, read_keypair
from bridge.domain.errors import DomainError
from bridge.domain.rules import Rules, default_rules, load_rules
from bridge.domain.servertime import ServerTimeZone
from bridge.domain.sizing import CopyLimits


class StartupError(Exception):
    """The daemon cannot start (journal locked or missing, an endpoint that cannot be bound):
    the CLI prints the one-line message and exits with status 2."""


class ConfigError(StartupError):
    """A bad configuration value: the file, the dotted key and what is wrong with it."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file, self.key, self.problem = file, key, problem


def check_server_key(config: DaemonConfig, insecure: bool) -> None:
    """Refused at start (and by `--check-config`): CURVE without a whole server key pair."""
    if not insecure and (config.server_key is None or config.server_key.secret is None):
        raise ConfigError(config.source, "security.server_key_file",
                          "a server key pair is required (generate one with `mtbridge keys server`), "
                          "or run with --insecure for local tests")


def check_journal_exists(config: DaemonConfig) -> bool:
    """True if the journal must be created (asked for); refused if it is missing and not asked for.
    A PostgreSQL journal (journal.url) is checked when the store opens it (bridge/daemon/store_pg.py)."""
    if config.journal_url:
        return False
    path = config.journal_path
    if path.exists():
        return False
    if not config.journal_create:
        raise StartupError(f"journal {path} does not exist: check journal.path in {config.source}, or start a new, "
                           "empty journal with --create-journal (config: journal.create = true)")
    return True


@dataclass(frozen=True, slots=True)
class PartnerAgreement:
    """An IB agreement applied at start (PartnerRegistered), if the partner is not yet known."""

    id: str
    referrer: str | None = None
    trader_rate_per_lot: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    router: str = "tcp://127.0.0.1:5570"
    pub: str = "tcp://127.0.0.1:5571"
    admin: str = "tcp://127.0.0.1:5572"  # "" = no admin endpoint
    heartbeat_ms: int = 1000
    offline_after: int = 5  # missed heartbeats
    max_frame_size: int = 65536
    sndhwm: int = 10000
    resend_after_ms: int = 10_000  # an unanswered command is re-sent (same key) after this
    close_profit_wait_ms: int = 5000  # wait for the closing deal's profit after a close result
    engine_tick_ms: int = 1000  # TimePassed into the engine (retries, payouts, IB credits)
    copy_magic: int = 7_770_001
    balance_operations: str = "confirm"  # confirm | backoffice
    insecure_warn_every_s: int = 60
    feed_snapshot_every_s: int = 5  # the monitoring feed's periodic `snapshot` (F4)
    # fairness and bounds (docs/operations.md, "Fairness and bounds")
    ingest_batch: int = 256  # frames read per event-loop turn, then timers and others run
    ingest_budget_ms: int = 20  # ... or fewer: a whole turn (reading, commit, sends) aims at this long
    # An abuse limit, not a traffic shaper (fairness comes from round-robin reading): a busy
    # investor terminal sends ~4 frames per copy (result, opened, closed, account) and may
    # execute thousands of copies a second; a flood is hundreds of thousands of frames a second.
    rate_limit_min_per_s: int = 20_000  # frames/s per key, at least ...
    rate_limit_per_login_per_s: int = 200  # ... or this much per login bound to the key
    rate_limit_burst_ms: int = 2000  # bucket depth, in ms of the rate
    abuse_disconnect_after_ms: int = 3000  # over the rate this long -> banned and cut
    abuse_ban_ms: int = 60_000
    log_aggregate_ms: int = 10_000  # repeated refusals: one full line, then one summary per interval
    # operations (docs/operations.md, "Health and metrics")
    health: str = ""  # "127.0.0.1:9464": HTTP /healthz and /metrics; "" = off; port 0 = any free port
    health_max_lag_ms: int = 1000  # /healthz is red while the event loop was blocked longer than this
    # security
    server_key: KeyPair | None = None
    allow: AllowList = field(default_factory=lambda: AllowList(()))
    # journal
    journal_path: Path = Path("mtbridge-journal.db")
    journal_url: str = ""  # "postgresql://...": the journal on PostgreSQL instead of journal_path
    # A config *file* must ask for a new journal (`journal.create`, or `--create-journal`): a
    # mistyped path then fails instead of starting an empty state. Code that builds its config
    # (tests, the demo, in fresh temporary directories) creates it.
    journal_create: bool = True
    synchronous: str = "normal"  # normal | full
    snapshot_every_events: int = 10_000
    snapshot_every_s: int = 300
    # engine
    engine: EngineConfig = field(default_factory=EngineConfig)
    partners: tuple[PartnerAgreement, ...] = ()
    rules: Rules | None = None  # a broker's own rule tables ([rules]); None = the packaged ones
    webhooks: WebhookConfig | None = None  # [webhooks]; None = no outbound webhooks
    cluster: ClusterConfig | None = None  # [cluster]: one of several daemons sharded by trader (docs/scaling.md)
    source: str = "<defaults>"


_DAEMON_INTS = {  # key -> (default, minimum)
    "heartbeat_ms": (1000, 50), "offline_after": (5, 2), "max_frame_size": (65536, 1024),
    "sndhwm": (10000, 1), "resend_after_ms": (10_000, 100), "close_profit_wait_ms": (5000, 0),
    "engine_tick_ms": (1000, 10), "copy_magic": (7_770_001, 0), "insecure_warn_every_s": (60, 1),
    "feed_snapshot_every_s": (5, 1), "ingest_batch": (256, 1), "ingest_budget_ms": (20, 1), "rate_limit_min_per_s": (20_000, 1),
    "rate_limit_per_login_per_s": (200, 0), "rate_limit_burst_ms": (2000, 1),
    "abuse_disconnect_after_ms": (3000, 0), "abuse_ban_ms": (60_000, 0), "log_aggregate_ms": (10_000, 1),
    "health_max_lag_ms": (1000, 10),
}  # fmt: skip
_SECTIONS = {"daemon", "security", "journal", "engine", "partners", "rules", "webhooks", "cluster"}


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, key, problem)

    def table(self, data: dict, name: str, allowed: set[str]) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(name, "must be a table")
        for key in value:
            if key not in allowed:
                raise self.fail(f"{name}.{key}", f"unknown key (known: {', '.join(sorted(allowed))})")
        return value

    def int_(self, t: dict, sect: str, key: str, default: int, minimum: int) -> int:
        v = t.get(key, default)
        if type(v) is not int or v < minimum:
            raise self.fail(f"{sect}.{key}", f"must be a whole number >= {minimum}, got {v!r}")
        return v

    def str_(self, t: dict, sect: str, key: str, default: str, choices: tuple[str, ...] = ()) -> str:
        v = t.get(key, default)
        if not isinstance(v, str):
            raise self.fail(f"{sect}.{key}", f"must be a string, got {v!r}")
        if choices and v not in choices:
            raise self.fail(f"{sect}.{key}", f"must be one of {', '.join(choices)}, got {v!r}")
        return v

    def bool_(self, t: dict, sect: str, key: str, default: bool) -> bool:
        v = t.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(f"{sect}.{key}", f"must be true or false, got {v!r}")
        return v

    def dec(self, value: Any, key: str, minimum: Decimal | None = None) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, str, float)):
            raise self.fail(key, f"must be a number (a string like \"1.5\" keeps it exact), got {value!r}")
        try:
            d = Decimal(repr(value) if isinstance(value, float) else str(value))
        except InvalidOperation:
            raise self.fail(key, f"{value!r} is not a number") from None
        if not d.is_finite() or (minimum is not None and d < minimum):
            raise self.fail(key, f"must be a finite number >= {minimum}, got {value!r}")
        return d

    def endpoint(self, t: dict, key: str, default: str, allow_empty: bool = False) -> str:
        v = self.str_(t, "daemon", key, default)
        if v == "" and allow_empty:
            return v
        if "://" not in v or v.split("://", 1)[0] not in ("tcp", "ipc", "inproc"):
            raise self.fail(f"daemon.{key}", f"must be a ZeroMQ endpoint like tcp://127.0.0.1:5570, got {v!r}")
        if v.startswith("tcp://"):
            host, _, port = v[6:].rpartition(":")
            if not host or not _port_ok(port, wildcard=True):
                raise self.fail(f"daemon.{key}", f"{v!r}: expected tcp://HOST:PORT with PORT 1-65535 or * "
                                "(any free port)")
        return v

    def listen(self, t: dict, key: str) -> str:
        """HOST:PORT of an HTTP listener ("" = off)."""
        v = self.str_(t, "daemon", key, "")
        if v == "":
            return v
        host, _, port = v.rpartition(":")
        if not host or not (port == "0" or _port_ok(port)):
            raise self.fail(f"daemon.{key}", f"{v!r}: expected HOST:PORT, e.g. 127.0.0.1:9464 (PORT 1-65535, "
                            "or 0 for any free port), or \"\" for none")
        return v


def _port_ok(port: str, wildcard: bool = False) -> bool:
    if wildcard and port == "*":
        return True
    return port.isdigit() and 1 <= int(port) <= 65535


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate a config file; raises ConfigError."""
    path = Path(path)
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(file, "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "-", f"not valid TOML: {exc}") from None
    return parse_config(data, file=file, base=path.parent)


def parse_config(data: dict, *, file: str = "<config>", base: Path = Path(".")) -> DaemonConfig:
    r = _Reader(file)
    for key in data:
        if key not in _SECTIONS:
            raise r.fail(key, f"unknown section (known: {', '.join(sorted(_SECTIONS))})")
    d = r.table(data, "daemon", set(_DAEMON_INTS) | {"router", "pub", "admin", "balance_operations", "health"})
    ints = {k: r.int_(d, "daemon", k, dflt, m) for k, (dflt, m) in _DAEMON_INTS.items()}
    router = r.endpoint(d, "router", "tcp://127.0.0.1:5570")
    pub = r.endpoint(d, "pub", "tcp://127.0.0.1:5571")
    admin = r.endpoint(d, "admin", "tcp://127.0.0.1:5572", allow_empty=True)
    balance_ops = r.str_(d, "daemon", "balance_operations", "confirm", ("confirm", "backoffice"))
    health = r.listen(d, "health")

    s = r.table(data, "security", {"server_key_file", "allow_list", "allow"})
    server_key = None
    if "server_key_file" in s:
        key_path = base / r.str_(s, "security", "server_key_file", "")
        try:
            server_key = read_keypair(key_path)
        except (OSError, ValueError) as exc:
            raise r.fail("security.server_key_file", f"{key_path}: {exc}") from None
        if server_key.secret is None:
            raise r.fail("security.server_key_file", f"{key_path}: holds no secret key")
    entries: list[AllowEntry] = []
    if "allow_list" in s:
        allow_path = base / r.str_(s, "security", "allow_list", "")
        try:
            allow_data = tomllib.loads(allow_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise r.fail("security.allow_list", f"{allow_path}: {exc}") from None
        try:
            from_file = parse_allow_entries(allow_data.get("allow", []), "allow")
            AllowList(tuple(from_file))  # a name or key listed twice is the file's problem: name the file
        except ValueError as exc:
            key, sep, problem = str(exc).partition(": ")
            raise ConfigError(str(allow_path), *((key, problem) if sep else ("allow", key))) from None
        entries += from_file
    if "allow" in s:
        try:
            entries += parse_allow_entries(s["allow"], "security.allow")
        except ValueError as exc:
            raise ConfigError(file, *str(exc).split(": ", 1)) from None
    try:
        allow = AllowList(tuple(entries))
    except ValueError as exc:
        raise r.fail("security.allow", str(exc)) from None

    j = r.table(data, "journal", {"path", "url", "create", "synchronous", "snapshot_every_events", "snapshot_every_s"})
    journal_path = base / r.str_(j, "journal", "path", "mtbridge-journal.db")
    journal_url = _journal_url(r, j)
    journal_create = r.bool_(j, "journal", "create", False)
    synchronous = r.str_(j, "journal", "synchronous", "normal", ("normal", "full"))
    snap_events = r.int_(j, "journal", "snapshot_every_events", 10_000, 1)
    snap_s = r.int_(j, "journal", "snapshot_every_s", 300, 1)

    rules = _rules(r, data, base)
    engine = _engine_config(r, data, rules or default_rules())
    partners = _partners(r, data.get("partners", []))
    webhooks = _webhooks(r, data, base, journal_path)
    cluster = None
    if "cluster" in data:
        if not journal_url:
            raise r.fail("cluster", "a cluster shares one PostgreSQL database: set journal.url")
        cluster = parse_cluster(r.table(data, "cluster", KEYS), router, r.fail, admin, pub)
    return DaemonConfig(
        router=router, pub=pub, admin=admin, balance_operations=balance_ops, health=health, server_key=server_key,
        allow=allow, journal_path=journal_path, journal_url=journal_url, journal_create=journal_create,
        synchronous=synchronous,
        snapshot_every_events=snap_events, snapshot_every_s=snap_s, engine=engine, partners=partners, rules=rules,
        webhooks=webhooks, cluster=cluster, source=file, **ints,
    )  # fmt: skip


def _journal_url(r: _Reader, j: dict) -> str:
    """`journal.url`: a PostgreSQL connection URL (libpq syntax), instead of `journal.path`."""
    if "url" not in j:
        return ""
    url = r.str_(j, "journal", "url", "")
    if "path" in j:
        raise r.fail("journal", "give one of path (SQLite file) or url (PostgreSQL), not both")
    example = "expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise r.fail("journal.url", f"{redact_url(url)!r}: {example}")
    try:
        port_ok = parts.port is None or 1 <= parts.port <= 65535
    except ValueError:
        port_ok = False
    if not port_ok or parts.fragment or not parts.path.strip("/"):
        raise r.fail("journal.url", f"{redact_url(url)!r}: {example}")
    try:  # libpq's own parser, when the driver is installed (query parameters, escapes)
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        return url
    try:
        conninfo_to_dict(url)
    except Exception as exc:  # noqa: BLE001 - psycopg.ProgrammingError: the parser's one line
        raise r.fail("journal.url", f"{redact_url(url)!r}: {' '.join(str(exc).split())}") from None
    return url


def redact_url(url: str) -> str:
    """A URL without its password (messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}").geturl()


_WEBHOOK_INTS = {  # key -> (default, minimum)
    "timeout_ms": (5000, 100), "max_attempts": (10, 1), "backoff_ms": (1000, 10), "backoff_max_ms": (300_000, 10),
    "queue_limit": (10_000, 1), "copy_refused_window_s": (60, 1),
}
MIN_WEBHOOK_SECRET = 32


def _webhooks(r: _Reader, data: dict, base: Path, journal_path: Path) -> WebhookConfig | None:
    """`[webhooks]`: where to POST which events, signed with which secret (docs/operations.md)."""
    t = r.table(data, "webhooks", {"urls", "secret", "secret_file", "events", "outbox", *_WEBHOOK_INTS})
    if not t:
        return None
    urls = t.get("urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise r.fail("webhooks.urls", "must be a non-empty list of http(s) URLs")
    for i, url in enumerate(urls):
        parts = urlsplit(url)
        try:
            port_ok = parts.port is None or 1 <= parts.port <= 65535
        except ValueError:
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise r.fail(f"webhooks.urls[{i}]", f"{url!r}: expected http(s)://HOST[:PORT]/PATH")
    if len(set(urls)) != len(urls):
        raise r.fail("webhooks.urls", "a URL is listed twice")
    if ("secret" in t) == ("secret_file" in t):
        raise r.fail("webhooks", "give exactly one of secret_file (recommended) or secret")
    if "secret_file" in t:
        secret_path = base / r.str_(t, "webhooks", "secret_file", "")
        try:
            secret = secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise r.fail("webhooks.secret_file", f"{secret_path}: {exc.strerror or exc}") from None
    else:
        secret = r.str_(t, "webhooks", "secret", "")
    if len(secret) < MIN_WEBHOOK_SECRET:
        raise r.fail("webhooks.secret_file" if "secret_file" in t else "webhooks.secret",
                     f"the secret must be at least {MIN_WEBHOOK_SECRET} characters (e.g. openssl rand -hex 32)")
    events = t.get("events", list(WEBHOOK_EVENTS))
    if not isinstance(events, list) or not events:
        raise r.fail("webhooks.events", f"must be a non-empty list of: {', '.join(WEBHOOK_EVENTS)}")
    for i, name in enumerate(events):
        if name not in WEBHOOK_EVENTS:
            raise r.fail(f"webhooks.events[{i}]", f"unknown event {name!r} (known: {', '.join(WEBHOOK_EVENTS)})")
    ints = {k: r.int_(t, "webhooks", k, d, m) for k, (d, m) in _WEBHOOK_INTS.items()}
    default_outbox = journal_path.with_name(journal_path.stem + "-webhooks.db")
    outbox = base / r.str_(t, "webhooks", "outbox", "") if "outbox" in t else default_outbox
    return WebhookConfig(urls=tuple(urls), secret=secret.encode(), events=frozenset(events), outbox=outbox, **ints)


def _rules(r: _Reader, data: dict, base: Path) -> Rules | None:
    """`[rules]`: a broker's own rule tables (docs/margin.md), each key replacing one packaged
    file; loaded and cross-checked here, so a bad table stops the daemon at start."""
    t = r.table(data, "rules", {"symbols", "account_types", "tiers"})
    if not t:
        return None
    paths: dict[str, Path] = {}
    for key in ("symbols", "account_types"):
        if key in t:
            paths[key] = base / r.str_(t, "rules", key, "")
    tiers: dict[str, str | Path] = {}
    if "tiers" in t:
        if not isinstance(t["tiers"], dict) or not t["tiers"]:
            raise r.fail("rules.tiers", "must be a table: family = \"path/to/family.toml\"")
        for family, value in t["tiers"].items():
            if not isinstance(value, str) or not value:
                raise r.fail(f"rules.tiers.{family}", f"must be a file path, got {value!r}")
            tiers[family] = base / value
    for key, path in [*paths.items(), *((f"tiers.{f}", p) for f, p in tiers.items())]:
        if not Path(path).is_file():
            raise r.fail(f"rules.{key}", f"{path}: file not found")
    try:
        return load_rules(paths.get("symbols"), paths.get("account_types"), tiers or None)
    except DomainError as err:
        raise r.fail("rules", err.detail) from None
    except (OSError, ValueError) as err:
        raise r.fail("rules", str(err)) from None


_ENGINE_KEYS = {
    "eligible_trader_types", "open_validity_ms", "mirror_stops", "investor_account_type",
    "max_commission_pct", "max_protection_pct", "trader_ib_rate_per_lot", "multilevel_shares",
    "ib_credit_period_ms", "payout_weekday", "server_timezone", "investor_rates",
    "investor_rate_other", "investor_rate_other_cap", "limits", "trader_platforms", "investor_platforms",
}  # fmt: skip


def _engine_config(r: _Reader, data: dict, rules: Rules) -> EngineConfig:
    if isinstance(data.get("engine"), dict) and "late_copy_window_ms" in data["engine"]:
        raise r.fail("engine.late_copy_window_ms", "renamed open_validity_ms (how long after the trader's open "
                     "a copy may still be opened, live or first seen in a snapshot; default 5000)")
    e = r.table(data, "engine", _ENGINE_KEYS)
    kw: dict[str, Any] = {}
    if "eligible_trader_types" in e:
        v = e["eligible_trader_types"]
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
            raise r.fail("engine.eligible_trader_types", "must be a non-empty list of account type ids")
        kw["eligible_trader_types"] = tuple(v)
    for key in ("trader_platforms", "investor_platforms"):  # §3; EngineConfig validates the names
        if key in e:
            v = e[key]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise r.fail(f"engine.{key}", "must be a list of platforms, e.g. [\"MT4\", \"MT5\"]")
            kw[key] = tuple(v)
    for key, minimum in (("open_validity_ms", 1), ("ib_credit_period_ms", 0), ("payout_weekday", 0)):
        if key in e:
            kw[key] = r.int_(e, "engine", key, 0, minimum)
    if "server_timezone" in e:
        try:
            kw["server_timezone"] = ServerTimeZone.parse(r.str_(e, "engine", "server_timezone", ""))
        except DomainError as exc:
            raise r.fail("engine.server_timezone", exc.detail) from None
    if "mirror_stops" in e:
        kw["mirror_stops"] = r.bool_(e, "engine", "mirror_stops", False)
    if "investor_account_type" in e:
        kw["investor_account_type"] = r.str_(e, "engine", "investor_account_type", "")
    for key in ("max_commission_pct", "max_protection_pct", "trader_ib_rate_per_lot", "investor_rate_other",
                "investor_rate_other_cap"):
        if key in e:
            kw[key] = r.dec(e[key], f"engine.{key}", Decimal(0))
    if "multilevel_shares" in e:
        v = e["multilevel_shares"]
        if not isinstance(v, list):
            raise r.fail("engine.multilevel_shares", "must be a list of fractions, e.g. [\"0.10\", \"0.05\"]")
        kw["multilevel_shares"] = tuple(r.dec(x, f"engine.multilevel_shares[{i}]", Decimal(0))
                                        for i, x in enumerate(v))
    if "investor_rates" in e:
        v = e["investor_rates"]
        if not isinstance(v, dict):
            raise r.fail("engine.investor_rates", "must be a table: group = \"USD per lot\"")
        kw["investor_rates"] = tuple((g, r.dec(x, f"engine.investor_rates.{g}", Decimal(0)))
                                     for g, x in sorted(v.items()))
    if "limits" in e:
        lim = e["limits"]
        allowed = {"step", "reject_below", "minimum", "maximum"}
        if not isinstance(lim, dict):
            raise r.fail("engine.limits", "must be a table")
        for k in lim:
            if k not in allowed:
                raise r.fail(f"engine.limits.{k}", f"unknown key (known: {', '.join(sorted(allowed))})")
        kw["limits"] = CopyLimits(**{k: r.dec(v, f"engine.limits.{k}", Decimal(0)) for k, v in lim.items()})
    try:
        cfg = EngineConfig(**kw)
        for i, t in enumerate(cfg.eligible_trader_types):
            try:
                rules.account_types.get(t)
            except DomainError as err:
                raise r.fail(f"engine.eligible_trader_types[{i}]", err.detail) from None
        cfg.check(rules.account_types)  # the investor type, and every type on an allowed platform
    except DomainError as err:
        raise r.fail("engine", err.detail) from None
    return cfg


def _partners(r: _Reader, value: Any) -> tuple[PartnerAgreement, ...]:
    if not isinstance(value, list):
        raise r.fail("partners", "must be an array of tables ([[partners]])")
    out = []
    for i, p in enumerate(value):
        key = f"partners[{i}]"
        if not isinstance(p, dict):
            raise r.fail(key, "must be a table")
        for k in p:
            if k not in ("id", "referrer", "trader_rate_per_lot"):
                raise r.fail(f"{key}.{k}", "unknown key (known: id, referrer, trader_rate_per_lot)")
        pid = p.get("id")
        if not isinstance(pid, str) or not pid:
            raise r.fail(f"{key}.id", "must be a non-empty string")
        ref = p.get("referrer")
        if ref is not None and (not isinstance(ref, str) or not ref):
            raise r.fail(f"{key}.referrer", "must be a non-empty string")
        rate = p.get("trader_rate_per_lot")
        out.append(PartnerAgreement(pid, ref, None if rate is None else r.dec(rate, f"{key}.trader_rate_per_lot",
                                                                               Decimal(0))))
    return tuple(out)
