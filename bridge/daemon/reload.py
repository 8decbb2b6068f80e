"""SIGHUP: re-read the config file and apply its allow-list, without a restart.

Only the allow-list (`security.allow_list` / `security.allow`) is applied live; any other
change is named in the log line `daemon.reload_partial` and waits for a restart. A config that
no longer validates changes nothing (`daemon.reload_failed` with the one-line error).

What a changed allow-list does to live peers:

* a new key: accepted at its next CURVE handshake (the ZAP handler reads the current list);
* a key removed, or whose public key or role changed: its terminal connections are cut at
  once (their sessions go offline, `why=key_removed`), its next handshake is refused;
* a key that lost logins: those logins' sessions are dropped, the others stay; frames for a
  removed login are refused (`login_not_bound`);
* admin requests are checked against the current list on every request;
* a monitoring-feed subscriber (XPUB) keeps its connection until it reconnects: libzmq gives
  no handle to cut one subscriber; its key is refused from its next handshake on.

Example: `mtbridge keys terminal trader-1002 --login 1002 --allow-list keys/allow.toml`, then
`systemctl reload mtbridge` (SIGHUP): the log says `daemon.reloaded added=["trader-1002"]`
and the terminal connects, while every other session stays up.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from bridge.daemon.config import ConfigError, DaemonConfig, load_config

if TYPE_CHECKING:
    from bridge.daemon.server import Daemon

_LIVE = {"allow", "source", "journal_create"}  # fields applied live, or not a setting


def reload_allow_list(daemon: Daemon) -> dict:
    """Apply the config file's allow-list; returns what changed (also logged)."""
    log = daemon.log
    try:
        fresh = load_config(daemon.config.source)
    except ConfigError as exc:
        log.error("daemon.reload_failed", error=str(exc), kept="the allow-list in force")
        return {"ok": False, "error": str(exc)}
    old = daemon.config.allow
    new = fresh.allow
    added = sorted(n for n in new.by_name if n not in old.by_name)
    removed = sorted(n for n in old.by_name if n not in new.by_name)
    changed = sorted(n for n, e in new.by_name.items() if n in old.by_name and old.by_name[n] != e)
    ignored = _other_changes(daemon.config, fresh)
    config = dataclasses.replace(daemon.config, allow=new)
    daemon.config = config
    core = daemon.core
    cut = 0
    if core is not None:
        core.config = config
        for name in removed + changed:
            core.buckets.pop(name, None)  # a key's rate depends on its logins
        for conn in list(core.conns.values()):
            name = conn.key_name
            if name is None or (name not in removed and name not in changed):
                continue
            entry, before = new.by_name.get(name), old.by_name[name]
            if entry is None or entry.public_key != before.public_key or entry.role != before.role:
                core.disconnects.append(conn.id)
                core._drop_conn(conn, "key_removed")
                cut += 1
            else:
                for s in [s for s in conn.sessions.values() if s.login not in entry.login_set]:
                    core._drop_session(s, "key_removed")
        daemon._cut()
        daemon._commit()
    log.info("daemon.reloaded", allow_list=len(new), added=added, removed=removed, changed=changed,
             connections_cut=cut)
    if ignored:
        log.warning("daemon.reload_partial", needs_restart=ignored,
                    message="only the allow-list is applied on SIGHUP; restart for the other changes")
    return {"ok": True, "added": added, "removed": removed, "changed": changed, "cut": cut, "ignored": ignored}


def _other_changes(current: DaemonConfig, fresh: DaemonConfig) -> list[str]:
    out = []
    for f in dataclasses.fields(DaemonConfig):
        if f.name in _LIVE:
            continue
        a, b = getattr(current, f.name), getattr(fresh, f.name)
        if f.name == "rules":  # loaded objects: compare whether a broker's tables are configured at all
            a, b = a is None, b is None
        if a != b:
            out.append(f.name)
    return out
