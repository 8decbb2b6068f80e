"""Human labels for the engine's codes (refusal codes, close reasons), one source for every view."""

from __future__ import annotations

# Human labels of the engine's codes (docs/copy-trading.md); unknown codes lose their underscores.
REFUSAL_LABEL = {"below_min_volume": "copy below the minimum volume", "above_max_volume": "copy above the maximum volume",
                 "no_money": "not enough free margin", "protection_suspended": "copying suspended by protection",
                 "subscription_stopped": "subscription stopped", "terminal_offline": "investor terminal offline",
                 "trader_not_eligible": "trader not eligible", "server_refused": "refused by the trade server",
                 "expired": "expired before the terminal answered",
                 "trader_closed_before_copy": "trader closed before the copy opened",
                 "desk_suspended": "copying suspended by the desk", "trader_disabled": "trader disabled by the desk",
                 # the refusals a dealer action may meet (the admin table's `refusals`)
                 "unknown_subscription": "no such subscription", "already_suspended": "already suspended by the desk",
                 "unknown_copy": "no such copy (already closed?)", "already_closing": "this copy is already closing",
                 "no_open_copies": "no open copy to close", "unknown_trader": "no such trader",
                 "copies_open": "copies are still open", "forbidden": "not allowed",
                 "suspended_by_desk": "suspended by the desk",
                 # copy settings (issue 15): filters, mapping, price guard, risk limits
                 "symbol_not_allowed": "symbol not in the subscription's list", "symbol_blocked": "symbol blocked",
                 "side_filtered": "side not copied", "trader_volume_below_min": "trader volume below the minimum",
                 "trader_volume_above_max": "trader volume above the maximum", "slippage": "price moved too far",
                 "unknown_symbol": "symbol not known (nothing maps it)", "invalid_volume": "volume not tradable",
                 "daily_loss_limit": "daily loss limit", "max_drawdown": "maximum drawdown",
                 "invalid_settings": "invalid copy settings"}

# The names of the figures in a refusal's `details`, in the order they are shown.
_DETAIL_WORDS = {"raw_volume": "volume before rounding", "volume": "volume", "limit": "limit",
                 "trader_volume": "trader volume", "equity": "equity", "margin": "margin", "mapped": "mapped to",
                 "difference_points": "points away", "limit_points": "limit (points)", "loss": "loss",
                 "allowed": "allowed", "base": "from", "state": "state", "retcode": "retcode"}
MAX_DETAILS_SHOWN = 6  # an event row stays one line


def details_text(details: object) -> str:
    """A refusal's figures in words, the known ones first: 'volume 1.00, equity 100, margin 1100.00'."""
    if not isinstance(details, dict) or not details:
        return ""
    known = [k for k in _DETAIL_WORDS if k in details]
    rest = sorted(k for k in details if k not in _DETAIL_WORDS)
    return ", ".join(f"{_DETAIL_WORDS.get(k, k.replace('_', ' '))} {details[k]}"
                     for k in (known + rest)[:MAX_DETAILS_SHOWN])


def settings_text(settings: object) -> str:
    """Copy settings in words, those set only: 'mode multiplier, multiplier 1.5, reverse'."""
    if not isinstance(settings, dict):
        return ""
    parts = []
    for k, v in settings.items():
        if v is True:
            parts.append(k.replace("_", " "))
        elif isinstance(v, dict):
            parts.append(f"{k.replace('_', ' ')} " + ",".join(f"{a}={b}" for a, b in v.items()))
        elif isinstance(v, list):
            parts.append(f"{k.replace('_', ' ')} {','.join(map(str, v))}")
        else:
            parts.append(f"{k.replace('_', ' ')} {v}")
    return ", ".join(parts) or "the seed's terms"


def refusal_label(code: str) -> str:
    """The words of a refusal code for every view; an unknown code loses its underscores."""
    return REFUSAL_LABEL.get(code, code.replace("_", " "))


_HOW = {"client": "by hand", "so": "stop-out", "sl": "stop loss", "tp": "take profit"}
_CLOSE_WORDS = {"stop_copying": "copying stopped", "reconcile": "reconciled with the account", "protection": "protection",
                "stop_out": "stop-out (engine)", "vanished": "vanished from the account",
                "dealer": "closed by the dealer", "daily_loss_limit": "daily loss limit",
                "max_drawdown": "maximum drawdown"}


def close_label(reason: str) -> str:
    """trader_sl -> 'trader closed (stop loss)', server_so -> 'closed by the server (stop-out)'."""
    for prefix, words in (("trader_partial_", "trader partial close"), ("trader_", "trader closed"),
                          ("server_", "closed by the server")):
        if reason.startswith(prefix):
            how = reason[len(prefix):]
            return f"{words} ({_HOW.get(how, how.replace('_', ' '))})"
    return _CLOSE_WORDS.get(reason, reason.replace("_", " "))


def deal_reason_label(reason: str) -> str:
    """A closed deal's own reason (the terminal's): client -> 'by hand', so -> 'stop-out'."""
    return _HOW.get(reason, reason.replace("_", " "))


# Three stop-out figures circulate; each view names what it counts (one source for the words).
# * events: the trade server stopped an account out (`account.stop_out`, F6): one per account per
#   episode, however many positions it closed;
# * positions closed: the deals the server closed with reason `so` (an event closes one or more);
# * engine stop-outs: subscriptions the copy engine stopped out itself (`record.stop_out_triggered`);
# * alerts: one per event and one per engine stop-out (so alerts = events + engine stop-outs).
STOP_OUT_EVENTS = "stop-out events"
STOP_OUT_EVENTS_HELP = ("accounts the trade server stopped out: one event per account per episode, however many "
                        "positions it closed")
ENGINE_STOP_OUTS = "engine stop-outs"
ENGINE_STOP_OUTS_HELP = "subscriptions the copy engine stopped out itself (its own margin model)"
STOP_OUT_ALERTS = "stop-out alerts"
STOP_OUT_ALERTS_HELP = "one per stop-out event and one per engine stop-out"


def stop_out_sentence(events: int, engine: int, closed_trader: int, closed_investor: int) -> str:
    """The one sentence that reconciles the stop-out figures of a run (report, docs)."""
    closed = closed_trader + closed_investor
    return (f"Stop-outs: the trade server stopped accounts out {events} time(s) ({STOP_OUT_EVENTS}, one per account "
            f"per episode), closing {closed} position(s) ({closed_trader} on trader accounts, {closed_investor} on "
            f"investor accounts); the engine stopped out {engine} subscription(s) itself ({ENGINE_STOP_OUTS}); "
            f"the desk raises one alert for each: {events + engine} {STOP_OUT_ALERTS} ({events} + {engine}).")
