"""The demo's report: what happened, from the daemon's journal and the trade server.

`results` depend only on the seed and the configuration (the determinism check compares them
across runs); `timings` are the run's own (wall time, latency, frame counts)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import asdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from bridge.monitor.fmt import CENT, money
from bridge.monitor.labels import close_label, refusal_label, stop_out_sentence
from mtbridge_demo.bots import TraderBot
from mtbridge_demo.daemons import wallet_total
from mtbridge_demo.plan import ZERO
from simulator.server import retcodes as rc

if TYPE_CHECKING:
    from mtbridge_demo.run import Demo


def build_report(demo: Demo, n_ticks: int, bots: list[TraderBot], wall: float) -> dict:
    """{"results": ..., "timings": ...} of a finished run."""
    server = demo.server
    records: list[tuple[str, dict]] = []
    statuses: Counter[str] = Counter()
    summaries = [node.daemon.summary() for node in demo.nodes]  # the last step committed
    for node in demo.nodes:  # sharded: every shard's journal, shard after shard
        records.extend(_numbered(node.subscriptions, node.journal.records()) if node.shard else node.journal.records())
        statuses.update(f"{r.type}:{s}" for r, s, _ in node.journal.commands())
    by: dict[str, list[dict]] = defaultdict(list)
    for topic, body in records:
        by[topic.removeprefix("record.")].append(body)

    def total(items, key="amount") -> str:
        return str(sum((Decimal(x[key]) for x in items), ZERO))

    def count(items, key) -> dict:
        return dict(sorted(Counter(str(x[key]) for x in items).items()))

    reasons = {rc.DEAL_REASON_SL: "sl", rc.DEAL_REASON_TP: "tp", rc.DEAL_REASON_SO: "so"}
    cent = {ip.id for ip in demo.investor_plans if ip.cent}
    units = {x["subscription"]: 100 for x in by["subscription_started"] if x["investor"] in cent}
    traders = {}
    for bot in bots:
        login = bot.login
        deals = [d for d in server.history_deals(login) if d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]
        info = server.account_info(login)
        traders[bot.plan.id] = {
            "login": login, "style": bot.plan.style, "symbol": bot.plan.symbol,
            "commission_pct": str(bot.plan.commission_pct),
            "positions_opened": sum(d.entry == rc.DEAL_ENTRY_IN for d in deals),
            "closing_deals": dict(sorted(Counter(reasons.get(d.reason, "client") for d in deals
                                                 if d.entry == rc.DEAL_ENTRY_OUT).items())),
            "bot_actions": dict(sorted(bot.actions.items())),
            "balance": str(info.balance), "equity": str(info.equity),
            "followers": sum(1 for i in demo.investor_plans if i.trader == bot.plan.id),
        }
    investor_so = 0
    for ip in demo.investor_plans:
        investor_so += sum(1 for d in server.history_deals(demo.login_of[ip.id])
                           if d.entry == rc.DEAL_ENTRY_OUT and d.reason == rc.DEAL_REASON_SO)
    accrued = by["commission_accrued"]
    credited = by["ib_credited"]
    paid = by["commission_paid"]
    results = {
        "seed": demo.cfg.seed,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(demo.cfg).items()},
        "ticks": n_ticks,
        "traders": traders,
        "subscriptions": {
            "started": len(by["subscription_started"]),
            "stopped": len(by["subscription_stopped"]),
            "refused_requests": count(by["refused"], "code"),
            "invested": total(by["subscription_started"]),
            "returned": total(by["subscription_stopped"], "returned"),
        },
        "copies": {
            "opened": len(by["copy_opened"]),
            "lots_opened": total(by["copy_opened"], "volume"),
            "closed_by_reason": count(by["copy_closed"], "reason"),
            "refused_by_reason": count(by["copy_refused"], "code"),
            "partial_close_skipped": count(by["close_skipped"], "code"),
            "close_failed": count(by["close_failed"], "retcode"),
            # in USD: a cent account's profits are in US cents (/ 100)
            "realised_profit": str(sum((Decimal(x["profit"]) / units.get(x["subscription"], 1)
                                        for x in by["copy_closed"]), ZERO)),
        },
        "commands": dict(sorted(statuses.items())),
        "protection": {
            "triggers": len(by["protection_triggered"]),
            "subscriptions": sorted({x["subscription"] for x in by["protection_triggered"]}),
        },
        "stop_outs": {  # what each counts: bridge.monitor.labels (events, positions closed, engine, alerts)
            "events": sum(s["stop_outs"] for s in summaries),
            "engine_stop_outs": len(by["stop_out_triggered"]),
            "server_closes_trader_accounts": sum(t["closing_deals"].get("so", 0) for t in traders.values()),
            "server_closes_investor_accounts": investor_so,
        },
        "commissions": {
            "accrued": total(accrued),
            "paid": {r: total([x for x in paid if x["reason"] == r]) for r in sorted({x["reason"] for x in paid})},
            "paid_by_trader": {t: total([x for x in paid if x["trader"] == t])
                               for t in sorted({x["trader"] for x in paid})},
        },
        "partners": {
            "accrued": {p: total([x for x in by["partner_accrued"] if x["partner"] == p])
                        for p in sorted({x["partner"] for x in by["partner_accrued"]})},
            "accrued_by_source": {s: total([x for x in by["partner_accrued"] if x["source"] == s])
                                  for s in sorted({x["source"] for x in by["partner_accrued"]})},
            "credited": {p: total([x for x in credited if x["partner"] == p])
                         for p in sorted({x["partner"] for x in credited})},
        },
        "copy_settings": _settings_results(demo, by),
        "wallets": wallet_total(summaries),
        "back_office": dict(sorted(demo.stats.items())),
        "server_digest": server.digest(),
        "records_digest": hashlib.sha256("\n".join(
            f"{t} {json.dumps(b, sort_keys=True)}" for t, b in records).encode()).hexdigest(),
    }
    results["back_office"].pop("syncs", None)
    lat = demo.recorder.summary_ms()
    lat_open = demo.recorder.summary_ms(types=("open",))
    timings = {
        "wall_s": round(wall, 3),
        "syncs": demo.stats["syncs"],
        "frames_in": sum(s["frames_in"] for s in summaries),
        "frames_out": sum(s["frames_out"] for s in summaries),
        "copy_latency_ms": lat,
        "open_copy_latency_ms": lat_open,
        "daemon_warnings": dict(sorted(sum((Counter(s["warnings"]) for s in summaries), Counter()).items())),
        "transport": "plain (insecure)" if demo.insecure else "CURVE",
    }
    return {"results": results, "timings": timings}


def _numbered(local_to_demo: dict[int, int], records: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """A shard's records with the demo's subscription numbers (each daemon numbers its own from
    1; the demo numbers them in the order they started, which is what one daemon does)."""
    out = []
    for topic, body in records:
        if isinstance(body.get("subscription"), int) and body["subscription"] in local_to_demo:
            body = {**body, "subscription": local_to_demo[body["subscription"]]}
        out.append((topic, body))
    return out


def _settings_results(demo: Demo, by: dict[str, list[dict]]) -> list[dict]:
    """What each subscription with copy settings did (issue 15): from the journal's records and
    the investor account's deals on the trade server (sides and symbols as opened)."""
    sub_of = {x["investor"]: x["subscription"] for x in by["subscription_started"]}
    out = []
    for ip in demo.investor_plans:
        if not ip.settings or ip.id not in sub_of:
            continue
        sid = sub_of[ip.id]

        def mine(kind: str) -> list[dict]:
            return [x for x in by[kind] if x.get("subscription") == sid]

        opens = [d for d in demo.server.history_deals(demo.login_of[ip.id])
                 if d.entry == rc.DEAL_ENTRY_IN and d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]
        trader_opens = {d.position_id: d for d in demo.server.history_deals(demo.login_of[ip.trader])
                        if d.entry == rc.DEAL_ENTRY_IN}
        trader_ticket_lots = {k: d.volume for k, d in trader_opens.items()}
        side_of = {d.position_id: d.type for d in opens}
        opened = mine("copy_opened")
        same = sum(1 for x in opened if x["trader_ticket"] in trader_opens and x["ticket"] in side_of
                   and side_of[x["ticket"]] == trader_opens[x["trader_ticket"]].type)
        out.append({
            "investor": ip.id, "role": ip.role, "trader": ip.trader, "subscription": sid, "currency": ip.currency,
            "settings": {k: v for k, v in ip.settings},
            "copies_opened": len(opened),
            "lots_opened": str(sum((Decimal(x["volume"]) for x in opened), ZERO)),
            "trader_lots_of_those": str(sum((trader_ticket_lots.get(x["trader_ticket"], ZERO) for x in opened), ZERO)),
            "opened_by_symbol_side": dict(sorted(Counter(
                f"{d.symbol} {'buy' if d.type == rc.DEAL_TYPE_BUY else 'sell'}" for d in opens).items())),
            "sides": {"as_trader": same, "reversed": len(opened) - same},
            "refused_by_reason": dict(sorted(Counter(x["code"] for x in mine("copy_refused")).items())),
            "closed_by_reason": dict(sorted(Counter(x["reason"] for x in mine("copy_closed")).items())),
            "limit_trips": [{k: x[k] for k in ("now", "limit", "action", "loss", "allowed", "state")}
                            for x in mine("risk_limit_triggered")],
            "limit_resets": len(mine("risk_limit_reset")),
            "realised_profit": str(sum((Decimal(x["profit"]) for x in mine("copy_closed")), ZERO)),
        })
    return out


MODE_LINE = {
    "terminal": "Mode: terminal (traders and investors in EA terminals, one connection per kind)",
    "plugin": "Mode: plugin (traders in EA terminals; investors without terminals, served by the gateway plugin "
              "on the trade server)",
}


def _money(value: object) -> str:
    """A report amount to cents with thousands separators (e.g. accrued 153.0200 -> 153.02)."""
    return money(Decimal(str(value)))  # the views' rule: cents, half-up


def render_text(report: dict) -> str:
    r, t = report["results"], report["timings"]
    c = r["copies"]
    out = [(f"mtbridge demo - seed {r['seed']}: {r['config']['traders']} traders, {r['config']['investors']} "
            f"investors, {r['config']['hours']} simulated hours, {r['ticks']} quotes ({t['transport']}, "
            f"{r['config']['mode']} mode)")]
    sub = r["subscriptions"]
    net = Decimal(str(sub["returned"])) - Decimal(str(sub["invested"]))
    if Decimal(str(sub["invested"])):
        pct = (net * 100 / Decimal(str(sub["invested"]))).quantize(CENT, ROUND_HALF_UP)
        out.append(f"Investors {'lost' if net < 0 else 'gained'} {_money(abs(net))} of {_money(sub['invested'])} USD "
                   f"invested ({pct:+}%)")
    out.append("")
    out.append("Traders")
    for tid, x in r["traders"].items():
        closes = ", ".join(f"{k} {v}" for k, v in x["closing_deals"].items()) or "none"
        out.append(f"  {tid:<9} {x['style']:<8} {x['symbol']}  followers {x['followers']:>2}  commission "
                   f"{x['commission_pct']:>2}%  positions {x['positions_opened']:>3}  closing deals: {closes}  "
                   f"equity {x['equity']}")
    out.append("")
    out.append(f"Copies opened:   {c['opened']} ({c['lots_opened']} lots)")
    out.append("Copies closed:   " + (", ".join(f"{close_label(k)} {v}" for k, v in c["closed_by_reason"].items())
                                      or "none"))
    out.append("Copies refused:  " + (", ".join(f"{refusal_label(k)} {v}"
                                                for k, v in c["refused_by_reason"].items()) or "none"))
    if c["partial_close_skipped"]:
        out.append("Partial closes skipped: " + ", ".join(f"{refusal_label(k)} {v}"
                                                          for k, v in c["partial_close_skipped"].items()))
    if c["close_failed"]:
        out.append("Closes refused by the server (retcode): " +
                   ", ".join(f"{k} {v}" for k, v in c["close_failed"].items()))
        if "10036" in c["close_failed"]:
            out.append("  (10036 = position already closed: the trade server closed the copy first; the engine "
                       "books that close from the server's report and does not retry)")
    out.append(f"Copies' realised profit: {c['realised_profit']} USD")
    p, s = r["protection"], r["stop_outs"]
    out.append(f"Protection triggers: {p['triggers']}" + (f" (subscriptions {p['subscriptions']})" if p["triggers"] else ""))
    out.append(stop_out_sentence(s["events"], s["engine_stop_outs"], s["server_closes_trader_accounts"],
                                 s["server_closes_investor_accounts"]))
    cm = r["commissions"]
    out.append(f"Commissions: accrued {_money(cm['accrued'])} USD; paid " +
               (", ".join(f"{k} {v}" for k, v in cm["paid"].items()) or "0") + " USD")
    pa = r["partners"]
    out.append("Partner payouts: credited " + (", ".join(f"{k} {v}" for k, v in pa["credited"].items()) or "none") +
               " USD; accrued " + (", ".join(f"{k.replace('_', ' ')} {_money(v)}"
                                             for k, v in pa["accrued_by_source"].items()) or "none")
               + (" USD" if pa["accrued_by_source"] else ""))
    out.append(f"Subscriptions: {sub['started']} started, {sub['stopped']} stopped; invested {sub['invested']} USD, "
               f"returned {sub['returned']} USD")
    if r.get("copy_settings"):
        out.append("")
        out.append("Copy settings (issue 15): what each subscription with settings did")
        for x in r["copy_settings"]:
            shown = ", ".join(f"{k} {str(v).lower()}" for k, v in x["settings"].items())
            out.append(f"  {x['investor']} ({x['role']}; {shown}) copying {x['trader']}: {x['copies_opened']} copies, "
                       f"{x['lots_opened']} lots (the trader's {x['trader_lots_of_those']})")
            sides = ", ".join(f"{k} {v}" for k, v in x["opened_by_symbol_side"].items()) or "none"
            turned = x["sides"]
            out.append(f"    opened: {sides} ({turned['as_trader']} on the trader's side, {turned['reversed']} reversed)"
                       "; closed: " +
                       (", ".join(f"{close_label(k)} {v}" for k, v in x["closed_by_reason"].items()) or "none") +
                       f"; realised {x['realised_profit']} {x.get('currency', 'USD')}")
            if x["refused_by_reason"]:
                out.append("    refused: " + ", ".join(f"{refusal_label(k)} {v}"
                                                       for k, v in x["refused_by_reason"].items()))
            for trip in x["limit_trips"]:
                out.append(f"    limit hit: {trip['limit'].replace('_', ' ')}, loss {_money(trip['loss'])} >= "
                           f"{_money(trip['allowed'])} allowed -> {trip['action'].replace('_', ' ')} "
                           f"({trip['state'].replace('_', ' ')})")
            if x["limit_resets"]:
                out.append(f"    lifted at the server-day rollover: {x['limit_resets']}")
    lat = t["copy_latency_ms"]
    out.append("")
    out.append(f"Copy latency (trader event sent -> investor command received, {lat['samples']} copy commands, opens and closes): "
               f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms")
    out.append(f"Run: {t['wall_s']} s wall, {t['syncs']} syncs (steps where the run waited for the bridge to settle), {t['frames_in']} frames in / {t['frames_out']} out")
    out.append(MODE_LINE[r["config"]["mode"]] if r["config"].get("traders_by") != "plugin" else
               "Mode: plugin (no terminal reports: the gateway plugin on the trade server serves traders and "
               "investors)")
    out.append(f"Determinism: server journal {r['server_digest'][:16]}, daemon records {r['records_digest'][:16]} "
               "(digests: the same seed gives the same values)")
    return "\n".join(out)

