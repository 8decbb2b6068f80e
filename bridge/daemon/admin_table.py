"""The admin API's table: error codes, bounds, and `OPS`, every request with its arguments,
replies and errors (docs/protocol.md section 14). Data only; `bridge.daemon.admin` parses and
runs requests against it, and re-exports every name here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from bridge.copytrading import events as ev
from bridge.copytrading.limits import LimitAction, LimitUnit
from bridge.copytrading.settings import MAX_LIMIT_MONEY, MAX_LOTS, MAX_MULTIPLIER, MAX_SLIPPAGE_POINTS, MAX_TRADER_VOLUME, CopySide
from bridge.domain.sizing import VolumeMode
from bridge.protocol.schema import MAX_AMOUNT, MAX_LEVERAGE, RETCODE_MAX, RETCODE_MIN

# --- error codes (the `error` field of an `ok: false` reply) -------------------------------
FRAME_TOO_LARGE = "frame_too_large"
NOT_MSGPACK = "not_msgpack"
LIMIT_EXCEEDED = "limit_exceeded"
BAD_REQUEST = "bad_request"
FORBIDDEN = "forbidden"
UNKNOWN_OP = "unknown_op"
BAD_ARGS = "bad_args"
UNKNOWN_KEY = "unknown_key"
UNKNOWN_SUBSCRIPTION = "unknown_subscription"
REFUSED = "refused"

ERRORS: dict[str, str] = {
    FRAME_TOO_LARGE: "the frame is longer than the daemon's `max_frame_size`; checked before decoding",
    NOT_MSGPACK: "not one valid msgpack value (empty, truncated, invalid UTF-8, trailing bytes, too deep)",
    LIMIT_EXCEEDED: "a msgpack map or array has more than 64 entries",
    BAD_REQUEST: "the envelope is wrong: not a map, a key that is not text, an unknown envelope key, "
                 "a bad `id`, `op` missing or not text, `args` not a map",
    FORBIDDEN: "the connection's key is not of role `admin`",
    UNKNOWN_OP: "`op` is not one of the ops below; `detail` lists them",
    BAD_ARGS: "an argument is unknown, missing or breaks its rule; `field` names it (`args.NAME`)",
    UNKNOWN_KEY: "`balance_result`: no pending balance operation has that key",
    UNKNOWN_SUBSCRIPTION: "`get_copy_settings`: no subscription has that id",
    REFUSED: "the engine raised an error on the event (a data fault, not a rule): `code` and `detail` are its own",
}
COMMON_ERRORS = (FRAME_TOO_LARGE, NOT_MSGPACK, LIMIT_EXCEEDED, BAD_REQUEST, FORBIDDEN, UNKNOWN_OP, BAD_ARGS)

# --- bounds ------------------------------------------------------------------------------
MAX_ENTRIES = 64  # entries of any msgpack map / array in a request (decode limit)
MAX_ARGS = 32  # entries of `args` (no op has more than 9)
MAX_ID_TEXT = 64
MAX_OP_TEXT = 32
ID_TEXT = 64  # trader, investor, owner, partner ids
UINT_MAX = 2**63 - 1  # accounts and counters end up in SQLite INTEGER columns (signed 64-bit)
INT_MIN = -(2**63)
DEC_INT_DIGITS = 15  # decimals: |x| < 10^15 ...
DEC_PLACES = 10  # ... with at most 10 decimal places (exact within the engine's 28 digits)
_SHOW = 40  # longest echo of a bad value in a detail
_DECIMAL_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")

ENVELOPE = ("id", "op", "args")


class SeedVolumeMode(str, Enum):
    """The seed's two volume modes (§2.4): what `subscribe` and `edit` offer. The others
    (fixed, multiplier, balance_ratio) need a parameter: `set_copy_settings` sets them."""

    EQUAL = VolumeMode.EQUAL.value
    PROPORTIONAL = VolumeMode.PROPORTIONAL.value


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument. `type`: uint | int | text | decimal | bool | enum. Numbers: `minimum`
    inclusive, or exclusive with `above`; `maximum` inclusive (default: 2^63-1 for ints, below
    10^15 for decimals). Text: 1..`max_len` characters (0.. if `empty`).
    Not `required`: absent = `default` (`events.UNSET`: the event's "leave as is")."""

    name: str
    type: str
    doc: str
    required: bool = True
    default: object = None
    nullable: bool = False
    minimum: int | None = None
    above: bool = False
    maximum: int | Decimal | None = None
    max_len: int = ID_TEXT
    empty: bool = False
    enum: type[Enum] | None = None

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(str(m.value) for m in self.enum) if self.enum else ()

    def rule(self) -> str:
        """The rule in words, as the docs and `bad_args` details say it."""
        if self.type == "text":
            text = f"text of {0 if self.empty else 1}..{self.max_len} characters"
        elif self.type == "enum":
            text = "one of " + " | ".join(self.choices)
        elif self.type == "bool":
            text = "true or false"
        elif self.type == "decimal":
            top = f" and <= {_number(self.maximum)}" if self.maximum is not None else f" and < 10^{DEC_INT_DIGITS}"
            text = f"a decimal string or number{_bound(self)}{top} with at most {DEC_PLACES} decimal places"
        elif self.type == "uint":
            text = "a whole number" + (_bound(self) if self.minimum else " >= 0") + f" and <= {_int_name(self.high)}"
        else:
            text = f"a whole number between {_int_name(self.low)} and {_int_name(self.high)}"
        return text + (", or nil" if self.nullable else "")

    @property
    def low(self) -> int:
        """uint / int: the smallest value."""
        return (self.minimum or 0) if self.type == "uint" else (self.minimum if self.minimum is not None else INT_MIN)

    @property
    def high(self) -> int:
        """uint / int: the largest value."""
        return int(self.maximum) if self.maximum is not None else UINT_MAX


def _int_name(value: int) -> str:
    return {UINT_MAX: "2^63-1", INT_MIN: "-2^63", RETCODE_MIN: "-2^31", RETCODE_MAX: "2^32-1"}.get(value, str(value))


def _number(value: int | Decimal) -> str:
    return f"{value:,}".replace(",", " ") if value < 10**6 else f"{Decimal(value):.0e}".replace("+", "")


def _bound(arg: Arg) -> str:
    if arg.minimum is None:
        return ""
    return f" {'>' if arg.above else '>='} {arg.minimum}"


@dataclass(frozen=True, slots=True)
class Field:
    """One reply field (besides `id` and `ok`)."""

    name: str
    type: str
    doc: str


@dataclass(frozen=True, slots=True)
class Op:
    """One request. `event`: the engine event it becomes (None: a query of the daemon).
    `refusals`: codes of the `record.refused` the engine may answer with (ok: true)."""

    name: str
    doc: str
    args: tuple[Arg, ...] = ()
    reply: tuple[Field, ...] = ()
    errors: tuple[str, ...] = ()
    event: type | None = None
    refusals: tuple[str, ...] = ()

    @property
    def all_errors(self) -> tuple[str, ...]:
        return (*COMMON_ERRORS, *self.errors)

    def arg(self, name: str) -> Arg | None:
        for a in self.args:
            if a.name == name:
                return a
        return None


# --- the table -----------------------------------------------------------------------------
def _id(name: str, doc: str, **kw: object) -> Arg:
    return Arg(name, "text", doc, **kw)  # type: ignore[arg-type]


def _dec(name: str, doc: str, minimum: int | None = 0, above: bool = False, **kw: object) -> Arg:
    return Arg(name, "decimal", doc, minimum=minimum, above=above, **kw)  # type: ignore[arg-type]


def _uint(name: str, doc: str, minimum: int | None = None, **kw: object) -> Arg:
    return Arg(name, "uint", doc, minimum=minimum, **kw)  # type: ignore[arg-type]


def _pct(name: str, doc: str, **kw: object) -> Arg:
    return _dec(name, doc, maximum=100, **kw)  # a percent of something: never above all of it


_AMOUNT = _dec("amount", "USD, whole cents (else refused `invalid_amount`)", above=True)
_SUB = _uint("subscription", "subscription id (from `record.subscription_started`)", minimum=1)
_REQUESTER = _id("requester", "the investor asking; must own the subscription (else refused `forbidden`)")
_RECORDS = Field("records", "array of maps",
                 "every engine record of the step, in order: `topic` (`record.<name>`, section 13.4) "
                 "and the record's fields (decimals as strings)")
_REFUSED = Field("refused", "map or nil",
                 "`{code, detail}` of the engine's `record.refused` for this request; nil = done")
_EVENT_REPLY = (_RECORDS, _REFUSED)
_LIMIT = _uint("limit", "at most this many rows", minimum=1, maximum=1000, required=False, default=100)
_MORE = Field("more", "bool", "true: rows after the last one exist (ask again with `after`)")
_SUB_REFUSALS = ("unknown_subscription", "forbidden", "subscription_stopped")
_DESK_REFUSALS = ("unknown_subscription", "subscription_stopped")


def _setting(arg: Arg) -> Arg:
    """A copy setting of `set_copy_settings`: optional, absent = unchanged, nil = its default."""
    return Arg(arg.name, arg.type, arg.doc, required=False, default=ev.UNSET, nullable=True, minimum=arg.minimum,
               above=arg.above, maximum=arg.maximum, max_len=arg.max_len, empty=arg.empty, enum=arg.enum)


def _actor(required: bool = False) -> Arg:
    """The dealer acting (dealer actions): journaled with the event and in `record.dealer_action`."""
    doc = "the dealer's user name, for the audit trail (`record.dealer_action`)"
    if required:
        return _id("actor", doc)
    return _id("actor", doc + "; nil = not a dealer's action", required=False, nullable=True)



OPS: dict[str, Op] = {op.name: op for op in (
    Op("deposit", "credit an owner's USD wallet", (
        _id("owner", "wallet owner (investor, trader or partner id)"), _AMOUNT),
       _EVENT_REPLY, (REFUSED,), ev.WalletDeposited, ("invalid_amount",)),
    Op("withdraw", "debit an owner's USD wallet", (
        _id("owner", "wallet owner"), _AMOUNT),
       _EVENT_REPLY, (REFUSED,), ev.WalletWithdrawn, ("invalid_amount", "insufficient_funds")),
    Op("transfer", "move USD from one owner's wallet to another's, both movements in one step", (
        _id("from_owner", "the wallet debited"), _id("to_owner", "the wallet credited"), _AMOUNT),
       _EVENT_REPLY, (REFUSED,), ev.WalletTransferred, ("invalid_amount", "same_owner", "insufficient_funds")),
    Op("register_trader", "offer a trader account for copying", (
        _id("trader", "trader id, new"),
        _uint("account", "the trader's MetaTrader login, not in use"),
        _id("account_type", "account type id, e.g. `mt4_standard` (data/account_types.toml)"),
        _uint("leverage", "account leverage, e.g. 100 for 1:100", minimum=1, maximum=MAX_LEVERAGE),
        _pct("commission_pct", "commission on the investors' gain, percent (up to `max_commission_pct`)"),
        _id("currency", "account currency", required=False, default="USD", max_len=16)),
       _EVENT_REPLY, (REFUSED,), ev.TraderRegistered,
       ("duplicate_trader", "account_in_use", "invalid_commission", "unknown_account_type", "unknown_currency")),
    Op("set_commission", "change a trader's commission; only later subscriptions lock the new rate", (
        _id("trader", "trader id"),
        _pct("commission_pct", "percent (up to `max_commission_pct`)")),
       _EVENT_REPLY, (REFUSED,), ev.TraderCommissionChanged, ("unknown_trader", "invalid_commission")),
    Op("cap_commission", "the service caps the commission of all of a trader's subscriptions", (
        _id("trader", "trader id"),
        _pct("cap_pct", "the cap, percent; nil lifts it", nullable=True)),
       _EVENT_REPLY, (REFUSED,), ev.CommissionCapSet, ("unknown_trader", "invalid_commission")),
    Op("disable_trader", "the desk stops new copies of a trader's deals (each refused `trader_disabled`) and new "
                         "subscriptions to it; open copies still follow the trader's closes", (
        _id("trader", "trader id"),
        Arg("disabled", "bool", "false enables the trader again", required=False, default=True), _actor()),
       _EVENT_REPLY, (REFUSED,), ev.TraderDisabled, ("unknown_trader",)),
    Op("register_partner", "register an IB partner", (
        _id("partner", "partner id, new"),
        _id("referrer", "the partner who referred this one (multi-level program)", required=False, nullable=True),
        _dec("trader_rate_per_lot", "IB rate on trader volume, USD per lot; nil = the config default",
             required=False, nullable=True)),
       _EVENT_REPLY, (REFUSED,), ev.PartnerRegistered,
       ("duplicate_partner", "unknown_referrer", "referral_cycle", "invalid_rate")),
    Op("set_rebate", "the share of a partner's revenue from each referred client's volume that is credited "
                     "to that client; partners set it", (
        _id("partner", "partner id"),
        _pct("rebate_pct", "percent of the partner's revenue, 0-100; applies to later deals")),
       _EVENT_REPLY, (REFUSED,), ev.RebateSet, ("unknown_partner",)),
    Op("assign_client", "an investor or trader registered through a partner's link", (
        _id("client", "investor or trader id"), _id("partner", "partner id")),
       _EVENT_REPLY, (REFUSED,), ev.ClientAssigned, ("unknown_partner", "already_assigned", "self_referral")),
    Op("subscribe", "invest from the investor's wallet into a new investor account copying a trader", (
        _id("investor", "investor id (the wallet debited)"),
        _id("trader", "trader id to copy"),
        _uint("account", "the new investor account's MetaTrader login, not in use"),
        _AMOUNT,
        Arg("mode", "enum", "volume mode of the copies", required=False, default=VolumeMode.EQUAL,
            enum=SeedVolumeMode),
        _pct("protection_pct", "equity protection, percent of the invested funds; nil = off", required=False,
             nullable=True),
        _uint("leverage", "investor account leverage", minimum=1, maximum=MAX_LEVERAGE, required=False,
              default=100),
        _id("account_type", "investor account type; nil = the config's `investor_account_type`",
            required=False, nullable=True),
        _id("currency", "investor account currency: USD, or USC (US cents) on a Standard Cent account; funded from the USD wallet", required=False, default="USD",
            max_len=16)),
       _EVENT_REPLY, (REFUSED,), ev.Subscribe,
       ("unknown_trader", "trader_not_eligible", "self_copy", "invalid_amount", "insufficient_funds",
        "invalid_protection", "invalid_mode", "account_in_use", "invalid_currency", "unknown_account_type",
        "unknown_currency", "platform_not_allowed", "invalid_leverage", "below_min_deposit")),
    Op("edit", "change mode and/or protection while copying; also resumes a suspended subscription", (
        _SUB, _REQUESTER,
        Arg("mode", "enum", "new volume mode; absent = unchanged", required=False, default=ev.UNSET,
            enum=SeedVolumeMode),
        _pct("protection_pct", "new protection, percent; nil = off; absent = unchanged", required=False,
             default=ev.UNSET, nullable=True)),
       _EVENT_REPLY, (REFUSED,), ev.EditSettings, (*_SUB_REFUSALS, "invalid_mode", "invalid_protection")),
    Op("change_investment", "top up the invested funds from the investor's wallet (amount > 0) or take part "
                            "of them back (amount < 0, at most the free margin); never a gain for the "
                            "commission", (
        _SUB, _REQUESTER,
        _dec("amount", "USD, whole cents, signed: + from the wallet, - back to it", minimum=None)),
       _EVENT_REPLY, (REFUSED,), ev.ChangeInvestment,
       (*_SUB_REFUSALS, "invalid_amount", "insufficient_funds", "insufficient_free_margin", "above_invested")),
    Op("resume", "resume a suspended subscription: the investor a protection suspension, the service (nil) "
                 "either, the desk's included", (
        _SUB,
        _id("requester", "the investor asking (else refused `suspended_by_desk` on a desk suspension); nil = "
                         "the service", nullable=True),
        _actor()),
       _EVENT_REPLY, (REFUSED,), ev.Resume, (*_SUB_REFUSALS, "suspended_by_desk")),
    Op("suspend", "the desk suspends a subscription: new trader deals are refused `desk_suspended`, open copies "
                  "stay and follow the trader; lifted by a service `resume`", (_SUB, _actor(required=True)),
       _EVENT_REPLY, (REFUSED,), ev.SuspendCopying, (*_DESK_REFUSALS, "already_suspended")),
    Op("close_copy", "the desk closes one copy (reason `dealer`); the subscription keeps copying", (
        _SUB, _uint("trader_ticket", "the trader position the copy follows (`copies`)"), _actor(required=True)),
       _EVENT_REPLY, (REFUSED,), ev.CloseOneCopy, (*_DESK_REFUSALS, "unknown_copy", "already_closing")),
    Op("close_copies", "the desk closes every open copy of a subscription (reason `dealer`); it keeps copying",
       (_SUB, _actor(required=True)),
       _EVENT_REPLY, (REFUSED,), ev.CloseAllCopies, (*_DESK_REFUSALS, "no_open_copies")),
    Op("stop", "stop copying: the investor (open copies must be closed first) or the service (nil)", (
        _SUB,
        _id("requester", "the investor asking; nil = the service, which always closes the open copies",
            nullable=True),
        Arg("close_open", "bool", "close the open copies (else refused `copies_open` while any is open)",
            required=False, default=False), _actor()),
       _EVENT_REPLY, (REFUSED,), ev.StopCopying, (*_SUB_REFUSALS, "copies_open")),
    Op("price", "a market price for the engine (floating results, protection, stop-out)", (
        _id("symbol", "symbol, e.g. EURUSD", max_len=32),
        _dec("bid", "bid price", above=True, maximum=MAX_AMOUNT),
        _dec("ask", "ask price", above=True, maximum=MAX_AMOUNT)),
       _EVENT_REPLY, (REFUSED,), ev.PriceTick),
    Op("balance_result", "the back office's answer to a `balance.operation` (`balance_operations = "
                         "\"backoffice\"`)", (
        _id("key", "the operation's key, from the feed's `balance.operation`", max_len=128),
        Arg("ok", "bool", "true: booked; false: refused by the back office", required=False, default=True),
        Arg("retcode", "int", "the refusal's code (ok false)", required=False, default=0, minimum=RETCODE_MIN,
            maximum=RETCODE_MAX),
        Arg("message", "text", "the refusal's detail (ok false)", required=False, default="", max_len=1000,
            empty=True)),
       (_RECORDS,), (UNKNOWN_KEY, REFUSED)),
    Op("status", "the daemon's sessions, queues and subscriptions", (), (
        Field("sessions", "array of uint", "logins with a live session, ascending"),
        Field("connections", "uint", "open terminal connections"),
        Field("pending_commands", "uint", "commands sent or to send, not yet answered"),
        Field("journal_seq", "uint", "the last journaled event"),
        Field("subscriptions", "map", "subscription id (text) -> `{account, trader, state, copies}`"))),
    Op("copies", "the copy map", (), (
        Field("copies", "map", "subscription id (text) -> trader ticket (text) -> `{ticket, volume, state}`: "
                               "the investor's position (nil while opening), its volume, `opening` or "
                               "`open`"),)),
    Op("list_traders", "the registered traders, by id", (
        _id("after", "page after this trader id", required=False, nullable=True), _LIMIT), (
        Field("traders", "array of maps", "`{trader, account, account_type, currency, leverage, commission_pct, "
                                          "cap_pct, disabled, followers, balance, equity, open_positions, trades}`"),
        _MORE)),
    Op("list_subscriptions", "subscriptions with their figures, by id", (
        _uint("after", "page after this subscription id", required=False, nullable=True), _LIMIT,
        _id("trader", "only this trader's", required=False, nullable=True),
        _id("investor", "only this investor's", required=False, nullable=True),
        Arg("live", "bool", "leave out stopped subscriptions", required=False, default=False)), (
        Field("subscriptions", "array of maps",
              "`{subscription, investor, trader, account, state, mode, protection_pct, commission_pct, invested, "
              "balance, equity, realised, commission_paid, open_copies, trades}`"),
        _MORE)),
    Op("wallet", "wallet balances: one owner's, or every wallet by owner", (
        _id("owner", "this owner's wallet only (an owner never seen: 0)", required=False, nullable=True),
        _id("after", "page after this owner", required=False, nullable=True), _LIMIT), (
        Field("wallets", "array of maps", "`{owner, balance}`"), _MORE)),
    Op("ping", "a liveness probe: answered in the same loop turn as terminal traffic", (), (
        Field("now", "uint", "the daemon's clock, UTC ms"),)),
    Op("set_copy_settings", "change a subscription's copy settings (docs/copy-trading.md, \"Copy settings\"); "
                            "they apply to trades opened after the change, open copies keep theirs", (
        _SUB,
        _id("requester", "the investor asking (must own the subscription); nil = the service (the desk)",
            nullable=True),
        _setting(Arg("mode", "enum", "volume mode; fixed needs `fixed_volume`, multiplier `multiplier`; nil = "
                                     "equal", enum=VolumeMode)),
        _setting(_dec("fixed_volume", "lots of every copy, mode fixed; nil = none", above=True, maximum=MAX_LOTS)),
        _setting(_dec("multiplier", "x the trader's volume, mode multiplier; nil = none", above=True,
                      maximum=MAX_MULTIPLIER)),
        _setting(_id("symbols_allowed", "comma-separated symbols copied, the others refused `symbol_not_allowed`; "
                                        "empty or nil = every symbol", max_len=1000, empty=True)),
        _setting(_id("symbols_blocked", "comma-separated symbols refused `symbol_blocked`; empty or nil = none",
                     max_len=1000, empty=True)),
        _setting(Arg("side", "enum", "the trader's sides copied, the other refused `side_filtered`; nil = both",
                     enum=CopySide)),
        _setting(_dec("min_trader_volume", "trader deals below this many lots are refused "
                                           "`trader_volume_below_min`; nil = no minimum", above=True,
                      maximum=MAX_TRADER_VOLUME)),
        _setting(_dec("max_trader_volume", "trader deals above this many lots are refused "
                                           "`trader_volume_above_max`; nil = no maximum", above=True,
                      maximum=MAX_TRADER_VOLUME)),
        _setting(_id("magics_allowed", "comma-separated magic numbers (0 .. 2^64-1) copied, the trader's other "
                                       "deals and orders refused `magic_not_allowed`; empty or nil = every magic",
                     max_len=1400, empty=True)),
        _setting(_id("magics_blocked", "comma-separated magic numbers refused `magic_blocked`; empty or nil = none",
                     max_len=1400, empty=True)),
        Arg("reverse", "bool", "copy buy as sell and sell as buy, SL and TP swapped", required=False,
            default=ev.UNSET),
        _setting(_uint("max_slippage_points", "refuse a copy (`slippage`) whose price is more than this many points "
                                              "from the trader's fill; nil = no guard",
                       maximum=MAX_SLIPPAGE_POINTS)),
        _setting(_id("symbol_map", "comma-separated TRADER=INVESTOR symbol pairs (the investor's name of the "
                                   "trader's symbol); empty or nil = none", max_len=2000, empty=True)),
        _setting(_id("symbol_prefix", "put before the trader's symbol when no pair maps it; empty or nil = none",
                     max_len=8, empty=True)),
        _setting(_id("symbol_suffix", "put after the trader's symbol when no pair maps it (a cent account's "
                                      "`EURUSDc`: `c`); empty or nil = none", max_len=8, empty=True)),
        Arg("copy_stops", "bool", "put the trader's SL/TP on each copy when it fills; nil = the engine's "
                                  "`mirror_stops`", required=False, default=ev.UNSET, nullable=True),
        Arg("mirror_stop_changes", "bool", "mirror the trader's SL/TP changes on the copies; nil = the engine's "
                                           "`mirror_stops`", required=False, default=ev.UNSET, nullable=True),
        _setting(_dec("daily_loss_limit", "the day's loss (from the equity at the server day's start) that acts, "
                                          "in `daily_loss_unit`; nil = none", above=True, maximum=MAX_LIMIT_MONEY)),
        _setting(Arg("daily_loss_unit", "enum", "money (the account currency) or percent (of the day's base); "
                                                "nil = money", enum=LimitUnit)),
        _setting(Arg("daily_loss_action", "enum", "what the daily loss limit does; nil = stop_opening",
                     enum=LimitAction)),
        _setting(_dec("max_drawdown", "the fall from the equity's peak that acts, in `max_drawdown_unit`; "
                                      "nil = none", above=True, maximum=MAX_LIMIT_MONEY)),
        _setting(Arg("max_drawdown_unit", "enum", "money or percent (of the peak); nil = money", enum=LimitUnit)),
        _setting(Arg("max_drawdown_action", "enum", "what the maximum drawdown does; nil = stop_opening",
                     enum=LimitAction)),
        Arg("copy_pending", "bool", "copy the trader's limit and stop orders as orders (placed, modified, "
                                    "cancelled, filled with them); off: only their fills, at market",
            required=False, default=ev.UNSET),
        _actor()),
       _EVENT_REPLY, (REFUSED,), ev.SetCopySettings, (*_SUB_REFUSALS, "invalid_settings")),
    Op("get_copy_settings", "a subscription's copy settings", (_SUB,), (
        Field("subscription", "uint", "the subscription"),
        Field("mode", "text", "its volume mode"),
        Field("settings", "map", "every setting, plain (decimals as text, symbol lists as arrays)"),
        Field("changed", "map", "the settings that differ from the seed's defaults (empty: the seed's terms)")),
       (UNKNOWN_SUBSCRIPTION,)),
)}  # fmt: skip
