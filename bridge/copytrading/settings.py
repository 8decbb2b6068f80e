"""Per-subscription copy settings (issue 15): how a subscription copies, beyond the seed.

    settings = CopySettings.from_dict({"mode": "multiplier", "multiplier": "1.5", "reverse": True})
    settings.to_dict()   # plain values again (decimals as text)

The defaults are exactly the seed's terms (seed 003 §4.5 equal copying, every symbol and side,
no reverse, no price guard): a subscription whose settings equal `seed_settings(mode)` for a
seed mode stores none (`Subscription.settings is None`) and copies on the engine's fast path.
Validated on construction and on load: a `DomainError("invalid_settings", ...)` names the
field and the rule (unknown field, wrong type, out of range). Pure: no engine state here;
the per-deal checks (`filter_refusal`, `slippage_refusal`) take plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from weakref import WeakValueDictionary

from bridge.copytrading.limits import LimitAction, LimitUnit
from bridge.domain.errors import DomainError
from bridge.domain.instruments import SymbolCatalog
from bridge.domain.money import to_decimal
from bridge.domain.sizing import SEED_MODES, VolumeMode
from bridge.domain.trading import Side

MAX_LOTS = Decimal("100")  # seed 003 §5.1: a copy is never above 100 lots; no parameter needs more
MAX_MULTIPLIER = Decimal("100")
MAX_SYMBOLS = 64  # per list: bounded like every admin map or array (the magic lists too)
MAX_MAGIC = 2**64 - 1  # a magic number is a non-negative 64-bit integer (MT5's are ulong)
MAX_SYMBOL_TEXT = 32
MAX_AFFIX = 8  # a symbol prefix or suffix ("c", ".m", "_i")
MAX_SLIPPAGE_POINTS = 1_000_000
MAX_TRADER_VOLUME = Decimal("1000000")  # lots: a bound on the filter, far above any deal
DECIMAL_PLACES = 10  # as the admin API's decimals
MAX_LIMIT_MONEY = Decimal("1000000000")  # a bound on a money limit, far above any account
# The admin API's longest texts, from the list bounds above so that every list the settings
# accept can be sent (each item followed by ", " but the last):
MAX_SYMBOLS_TEXT = MAX_SYMBOLS * (MAX_SYMBOL_TEXT + 2)  # 2176: 64 symbols of 32 characters
MAX_MAP_TEXT = MAX_SYMBOLS * (2 * MAX_SYMBOL_TEXT + 3)  # 4288: 64 pairs TRADER=INVESTOR
MAX_MAGICS_TEXT = MAX_SYMBOLS * (len(str(MAX_MAGIC)) + 2)  # 1408: 64 magics of 20 digits


class CopySide(str, Enum):
    """Which of the trader's sides are copied (compared with the trader's side, before reverse)."""

    BOTH = "both"
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class Setting:
    """How one setting is set from outside, kept on its field (`metadata["setting"]`): the admin
    API's argument of `set_copy_settings` (bridge/daemon/admin_table.py) and the dashboard's form
    (bridge/monitor/web_settings.py) are both built from it, so a new setting is one field here.
    `kind`: the admin wire type (enum | decimal | uint | bool | text); `shape` of a text: a list
    of symbols ("symbols"), of magic numbers ("magics") or TRADER=INVESTOR pairs ("pairs"); `nullable` False: true or false
    only (nil, the default, is refused); `maximum` / `max_len`: the admin API's bounds."""

    kind: str
    label: str  # the form's words
    group: str  # the form's fieldset (the item)
    doc: str  # the admin argument's doc (docs/protocol.md section 14)
    enum: type[Enum] | None = None
    maximum: int | Decimal | None = None
    max_len: int = 0
    shape: str = ""
    unit: str = ""  # lots, points, ... (shown after the form's input)
    nullable: bool = True


def _setting(default: object, kind: str, label: str, group: str, doc: str, **kw: object) -> object:
    return field(default=default, metadata={"setting": Setting(kind, label, group, doc, **kw)})  # type: ignore[arg-type]


VOLUME, FILTERS, REVERSE, PRICE, MAPPING, STOPS, LIMITS, PENDING = (
    "Volume mode", "Filters", "Reverse copy", "Price guard", "Symbol mapping", "Stops", "Risk limits",
    "Pending orders")


@dataclass(frozen=True, slots=True, weakref_slot=True)
class CopySettings:
    # item 1, volume mode (seed §4.5 equal by default); each non-seed mode has its parameter
    mode: VolumeMode = _setting(  # type: ignore[assignment]
        VolumeMode.EQUAL, "enum", "volume mode", VOLUME,
        "volume mode; fixed needs `fixed_volume`, multiplier `multiplier`; nil = equal", enum=VolumeMode)
    fixed_volume: Decimal | None = _setting(  # type: ignore[assignment]  # mode fixed only
        None, "decimal", "fixed volume", VOLUME, "lots of every copy, mode fixed; nil = none", maximum=MAX_LOTS,
        unit="lots")
    multiplier: Decimal | None = _setting(  # type: ignore[assignment]  # mode multiplier only
        None, "decimal", "multiplier", VOLUME, "x the trader's volume, mode multiplier; nil = none",
        maximum=MAX_MULTIPLIER, unit="x the trader's volume")
    # item 3, filters: a filtered trade is a CopyRefused with its own code
    symbols_allowed: tuple[str, ...] = _setting(  # type: ignore[assignment]  # empty: every symbol
        (), "text", "symbols allowed", FILTERS, "comma-separated symbols copied, the others refused "
        "`symbol_not_allowed`; empty or nil = every symbol", max_len=MAX_SYMBOLS_TEXT, shape="symbols")
    symbols_blocked: tuple[str, ...] = _setting(  # type: ignore[assignment]
        (), "text", "symbols blocked", FILTERS, "comma-separated symbols refused `symbol_blocked`; empty or nil = "
        "none", max_len=MAX_SYMBOLS_TEXT, shape="symbols")
    side: CopySide = _setting(  # type: ignore[assignment]
        CopySide.BOTH, "enum", "sides copied", FILTERS,
        "the trader's sides copied, the other refused `side_filtered`; nil = both", enum=CopySide)
    min_trader_volume: Decimal | None = _setting(  # type: ignore[assignment]  # the trader's volume, inclusive
        None, "decimal", "trader volume from", FILTERS,
        "trader deals below this many lots are refused `trader_volume_below_min`; nil = no minimum",
        maximum=MAX_TRADER_VOLUME, unit="lots")
    max_trader_volume: Decimal | None = _setting(  # type: ignore[assignment]
        None, "decimal", "trader volume up to", FILTERS,
        "trader deals above this many lots are refused `trader_volume_above_max`; nil = no maximum",
        maximum=MAX_TRADER_VOLUME, unit="lots")
    # the trader's magic numbers (the EA's, 0 = a trade by hand), as the terminal reports them
    magics_allowed: tuple[int, ...] = _setting(  # type: ignore[assignment]  # empty: every magic
        (), "text", "magic numbers allowed", FILTERS, "comma-separated magic numbers (0 .. 2^64-1) copied, the "
        "trader's other deals and orders refused `magic_not_allowed`; empty or nil = every magic",
        max_len=MAX_MAGICS_TEXT, shape="magics")
    magics_blocked: tuple[int, ...] = _setting(  # type: ignore[assignment]
        (), "text", "magic numbers blocked", FILTERS, "comma-separated magic numbers refused `magic_blocked`; "
        "empty or nil = none", max_len=MAX_MAGICS_TEXT, shape="magics")
    # item 4, reverse copy: buy <-> sell, SL <-> TP
    reverse: bool = _setting(  # type: ignore[assignment]
        False, "bool", "reverse (buy as sell, SL as TP)", REVERSE,
        "copy buy as sell and sell as buy, SL and TP swapped", nullable=False)
    # item 7, price guard: the investor's price against the trader's fill, in the symbol's points
    max_slippage_points: int | None = _setting(  # type: ignore[assignment]
        None, "uint", "maximum slippage", PRICE, "refuse a copy (`slippage`) whose price is more than this many "
        "points from the trader's fill; nil = no guard", maximum=MAX_SLIPPAGE_POINTS, unit="points")
    # item 2, symbol mapping: the investor's name of the trader's symbol. An explicit pair
    # (trader symbol, investor symbol) first, else prefix + symbol + suffix (a cent account's
    # "EURUSDc"); the name an OpenCopy carries (`map_symbol`).
    symbol_map: tuple[tuple[str, str], ...] = _setting(  # type: ignore[assignment]
        (), "text", "symbol pairs", MAPPING, "comma-separated TRADER=INVESTOR symbol pairs (the investor's name of "
        "the trader's symbol); empty or nil = none", max_len=MAX_MAP_TEXT, shape="pairs")
    symbol_prefix: str = _setting(  # type: ignore[assignment]
        "", "text", "symbol prefix", MAPPING, "put before the trader's symbol when no pair maps it; empty or nil = "
        "none", max_len=MAX_AFFIX)
    symbol_suffix: str = _setting(  # type: ignore[assignment]
        "", "text", "symbol suffix", MAPPING, "put after the trader's symbol when no pair maps it (a cent "
        "account's `EURUSDc`: `c`); empty or nil = none", max_len=MAX_AFFIX)
    # item 5, stops: put the trader's SL/TP on the copy when it fills, and mirror the trader's
    # changes; None: the engine's `mirror_stops` (the one default for both)
    copy_stops: bool | None = _setting(  # type: ignore[assignment]
        None, "bool", "copy SL/TP", STOPS,
        "put the trader's SL/TP on each copy when it fills; nil = the engine's `mirror_stops`")
    mirror_stop_changes: bool | None = _setting(  # type: ignore[assignment]
        None, "bool", "mirror SL/TP changes", STOPS,
        "mirror the trader's SL/TP changes on the copies; nil = the engine's `mirror_stops`")
    # item 8, risk limits that act (limits.py): money or percent, each with its action
    daily_loss_limit: Decimal | None = _setting(  # type: ignore[assignment]
        None, "decimal", "daily loss limit", LIMITS, "the day's loss (from the equity at the server day's start) "
        "that acts, in `daily_loss_unit`; nil = none", maximum=MAX_LIMIT_MONEY)
    daily_loss_unit: LimitUnit = _setting(  # type: ignore[assignment]
        LimitUnit.MONEY, "enum", "daily loss unit", LIMITS,
        "money (the account currency) or percent (of the day's base); nil = money", enum=LimitUnit)
    daily_loss_action: LimitAction = _setting(  # type: ignore[assignment]
        LimitAction.STOP_OPENING, "enum", "daily loss action", LIMITS,
        "what the daily loss limit does; nil = stop_opening", enum=LimitAction)
    max_drawdown: Decimal | None = _setting(  # type: ignore[assignment]
        None, "decimal", "maximum drawdown", LIMITS,
        "the fall from the equity's peak that acts, in `max_drawdown_unit`; nil = none", maximum=MAX_LIMIT_MONEY)
    max_drawdown_unit: LimitUnit = _setting(  # type: ignore[assignment]
        LimitUnit.MONEY, "enum", "maximum drawdown unit", LIMITS, "money or percent (of the peak); nil = money",
        enum=LimitUnit)
    max_drawdown_action: LimitAction = _setting(  # type: ignore[assignment]
        LimitAction.STOP_OPENING, "enum", "maximum drawdown action", LIMITS,
        "what the maximum drawdown does; nil = stop_opening", enum=LimitAction)
    # item 6, pending orders: the trader's limit and stop orders copied as orders (pending.py);
    # off (the seed's terms): only the positions they make are copied, as market orders
    copy_pending: bool = _setting(  # type: ignore[assignment]
        False, "bool", "copy pending orders", PENDING, "copy the trader's limit and stop orders as orders (placed, "
        "modified, cancelled, filled with them); off: only their fills, at market", nullable=False)
    # derived, never stored: any filter set (the fan-out skips `filter_refusal` otherwise)
    filtering: bool = field(init=False, repr=False, compare=False, hash=False, default=False,
                            metadata={"derived": True})
    mapping: bool = field(init=False, repr=False, compare=False, hash=False, default=False,
                          metadata={"derived": True})  # any symbol mapping set
    limited: bool = field(init=False, repr=False, compare=False, hash=False, default=False,
                          metadata={"derived": True})  # a daily loss limit or a maximum drawdown set

    def __post_init__(self) -> None:
        _check(self)
        object.__setattr__(self, "filtering", bool(
            self.symbols_allowed or self.symbols_blocked or self.side is not CopySide.BOTH
            or self.min_trader_volume is not None or self.max_trader_volume is not None
            or self.magics_allowed or self.magics_blocked))
        object.__setattr__(self, "limited", self.daily_loss_limit is not None or self.max_drawdown is not None)
        object.__setattr__(self, "mapping", bool(self.symbol_map or self.symbol_prefix or self.symbol_suffix))

    # ------------------------------------------------------------------ plain dicts
    @classmethod
    def from_dict(cls, data: Mapping[str, object], base: CopySettings | None = None) -> CopySettings:
        """`base` (default: the seed's) with the fields of `data` changed. Values may be the
        plain forms `to_dict` gives (decimals as text, lists of symbols) or a comma-separated
        text for a symbol list; None resets a field to its default. A partial edit that moves
        away from fixed or multiplier drops that mode's parameter unless it sets it again."""
        if not isinstance(data, Mapping):
            raise DomainError("invalid_settings", f"settings must be a map, got {type(data).__name__}")
        base = base or DEFAULT_SETTINGS
        unknown = sorted(str(k) for k in data if k not in FIELDS)
        if unknown:
            raise DomainError("invalid_settings", f"unknown field {', '.join(unknown)} "
                                                  f"(known: {', '.join(FIELDS)})")
        changes = {name: _parse(name, value) for name, value in data.items()}
        mode = changes.get("mode", base.mode)
        if mode is not VolumeMode.FIXED and "fixed_volume" not in changes:
            changes["fixed_volume"] = None
        if mode is not VolumeMode.MULTIPLIER and "multiplier" not in changes:
            changes["multiplier"] = None
        return replace(base, **changes)

    def to_dict(self) -> dict[str, object]:
        """Every field as a plain JSON-able value (decimals as exact text, enums as values)."""
        out: dict[str, object] = {}
        for name in FIELDS:
            v = getattr(self, name)
            out[name] = (v.value if isinstance(v, Enum) else str(v) if isinstance(v, Decimal)
                         else dict(v) if name == "symbol_map" else list(v) if isinstance(v, tuple) else v)
        return out

    def recorded(self) -> dict[str, object]:
        """`to_dict` as a CopySettingsChanged record carries it: a field added after records were
        written (LATE_FIELDS) is left out at its default, like the wire's optional fields, so the
        records of settings that do not use it read as before (byte for byte)."""
        out = self.to_dict()
        for name in LATE_FIELDS:
            if out[name] == _DEFAULT_PLAIN[name]:
                del out[name]
        return out

    def changed(self) -> dict[str, object]:
        """The fields that differ from the defaults, plain (what a desk shows)."""
        default = DEFAULT_SETTINGS.to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}

    @property
    def is_seed(self) -> bool:
        """True when this copies exactly by the seed's terms (no setting beyond a seed mode)."""
        return self.mode in SEED_MODES and self == seed_settings(self.mode)


#: Every setting's outside description, by name, in order (SetCopySettings carries each, the
#: admin op and the dashboard's form are built from these).
SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in fields(CopySettings) if f.init}
FIELDS = tuple(SETTINGS)
#: Fields added after records were written: a record leaves them out at their default (`recorded`).
LATE_FIELDS = ("magics_allowed", "magics_blocked")
_DEFAULT_PLAIN = {name: [] for name in LATE_FIELDS}  # their defaults, plain


# One instance per distinct value among the live subscriptions: thousands of subscriptions with
# the same settings share one object (the fan-out reads them per subscription: one cache line,
# not one per subscription). Weak: a value nobody holds any more is dropped.
# Keyed by the exact plain form, not by equality: 1.5 and 1.50 lots are equal but print
# differently, and what a record prints must not depend on which came first.
_SHARED: WeakValueDictionary[tuple, CopySettings] = WeakValueDictionary()


def shared(settings: CopySettings) -> CopySettings:
    """The one live instance with exactly `settings`' values (immutable: sharing is safe)."""
    key = tuple((k, tuple(v) if isinstance(v, list) else tuple(v.items()) if isinstance(v, dict) else v)
                for k, v in settings.to_dict().items())
    return _SHARED.setdefault(key, settings)


@lru_cache(maxsize=None)
def seed_settings(mode: VolumeMode) -> CopySettings:
    """The settings of a subscription that copies by the seed's terms in `mode`."""
    return CopySettings(mode=VolumeMode(mode))


# ---------------------------------------------------------------------- validation
def _fail(name: str, rule: str, value: object) -> DomainError:
    if isinstance(value, Decimal):
        shown = str(value)
    else:
        shown = repr(value) if not isinstance(value, str) or len(value) <= 40 else repr(value[:37] + "...")
    return DomainError("invalid_settings", f"{name}: must be {rule}, got {shown}")


def _parse(name: str, value: object) -> object:
    """One plain value -> the field's type (None: the default), by the field's `Setting`.
    Ranges are `_check`'s."""
    if value is None:
        return _DEFAULTS[name]
    spec = SETTINGS[name]
    if spec.kind == "enum":
        return _choice(name, spec.enum, value)  # type: ignore[arg-type]
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _fail(name, "true or false", value)
        return value
    if spec.kind == "uint":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(name, f"a whole number of {spec.unit} 0..{spec.maximum}", value)
        return value
    if spec.shape == "pairs":
        return _pairs(value)
    if spec.shape == "symbols":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) for s in items):
            raise _fail(name, "a list of symbols or comma-separated text", value)
        return tuple(sorted({s.strip() for s in items if s.strip()}))
    if spec.shape == "magics":
        return _magics(name, value)
    if spec.kind == "text":
        if not isinstance(value, str):
            raise _fail(name, "text", value)
        return value.strip()
    try:
        return to_decimal(value, name)
    except DomainError:
        raise _fail(name, "a decimal number", value) from None


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    """A symbol map from a map {trader: investor}, "A=B,C=D" text or a list of pairs; sorted."""
    rule = "a map of trader symbol to investor symbol, or text TRADER=INVESTOR,..."
    if isinstance(value, str):
        items = [part.split("=") for part in value.split(",") if part.strip()]
    elif isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _fail("symbol_map", rule, value)
    pairs: dict[str, str] = {}
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not all(isinstance(x, str) for x in item):
            raise _fail("symbol_map", rule, value)
        src, dst = item[0].strip(), item[1].strip()
        if src in pairs and pairs[src] != dst:
            raise DomainError("invalid_settings", f"symbol_map: {src} is mapped twice ({pairs[src]}, {dst})")
        pairs[src] = dst
    return tuple(sorted(pairs.items()))


def _magics(name: str, value: object) -> tuple[int, ...]:
    """Magic numbers from a list of whole numbers or comma-separated text; sorted, distinct.
    The range is `_check`'s (a non-negative 64-bit integer)."""
    rule = f"a list of magic numbers 0..{MAX_MAGIC} or comma-separated text"
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise _fail(name, rule, value)
    out = set()
    for item in items:
        if isinstance(item, str) and _ascii_digits(item.strip()):
            item = int(item.strip())
        elif isinstance(item, str) and not item.strip():
            continue
        if isinstance(item, bool) or not isinstance(item, int):
            raise _fail(name, rule, value)
        out.add(item)
    return tuple(sorted(out))


def _ascii_digits(text: str) -> bool:
    """[0-9]+ only: the wire's magic is an ASCII integer. `str.isdigit` also takes '²' (which
    `int` refuses) and '١٢٣' (which `int` reads as 123, a magic the trader's EA never had)."""
    return bool(text) and text.isascii() and text.isdigit()


def _choice(name: str, enum: type[Enum], value: object) -> Enum:
    try:
        return enum(value)
    except ValueError:
        raise _fail(name, "one of " + " | ".join(str(m.value) for m in enum), value) from None


def _lots(settings: CopySettings, name: str, top: Decimal, what: str = "lots") -> None:
    value = getattr(settings, name)
    if value is None:
        return
    if (not isinstance(value, Decimal) or not value.is_finite() or not 0 < value <= top
            or -value.as_tuple().exponent > DECIMAL_PLACES):  # type: ignore[operator]
        raise _fail(name, f"{what} > 0 and <= {top} with at most {DECIMAL_PLACES} decimal places", value)


def _check(s: CopySettings) -> None:
    """The rules of every field (DomainError names the first broken one)."""
    if not isinstance(s.mode, VolumeMode):
        raise _fail("mode", "one of " + " | ".join(m.value for m in VolumeMode), s.mode)
    if not isinstance(s.side, CopySide):
        raise _fail("side", "one of " + " | ".join(m.value for m in CopySide), s.side)
    _lots(s, "fixed_volume", MAX_LOTS)
    _lots(s, "multiplier", MAX_MULTIPLIER, "a factor")
    for name in ("daily_loss_unit", "max_drawdown_unit"):
        if not isinstance(getattr(s, name), LimitUnit):
            raise _fail(name, "one of " + " | ".join(m.value for m in LimitUnit), getattr(s, name))
    for name in ("daily_loss_action", "max_drawdown_action"):
        if not isinstance(getattr(s, name), LimitAction):
            raise _fail(name, "one of " + " | ".join(m.value for m in LimitAction), getattr(s, name))
    for name, unit in (("daily_loss_limit", s.daily_loss_unit), ("max_drawdown", s.max_drawdown_unit)):
        if unit is LimitUnit.PERCENT:
            _lots(s, name, Decimal(100), "a percent")
        else:
            _lots(s, name, MAX_LIMIT_MONEY, "an amount of money")
    _lots(s, "min_trader_volume", MAX_TRADER_VOLUME)
    _lots(s, "max_trader_volume", MAX_TRADER_VOLUME)
    if (s.fixed_volume is None) is (s.mode is VolumeMode.FIXED):
        raise DomainError("invalid_settings", "fixed_volume: required with mode fixed, and only with it "
                                              f"(mode {s.mode.value}, fixed_volume {s.fixed_volume})")
    if (s.multiplier is None) is (s.mode is VolumeMode.MULTIPLIER):
        raise DomainError("invalid_settings", "multiplier: required with mode multiplier, and only with it "
                                              f"(mode {s.mode.value}, multiplier {s.multiplier})")
    if (s.min_trader_volume is not None and s.max_trader_volume is not None
            and s.min_trader_volume > s.max_trader_volume):
        raise DomainError("invalid_settings", f"min_trader_volume: must not exceed max_trader_volume "
                                              f"({s.min_trader_volume} > {s.max_trader_volume})")
    for name in ("symbols_allowed", "symbols_blocked"):
        symbols = getattr(s, name)
        if not isinstance(symbols, tuple) or len(symbols) > MAX_SYMBOLS or not all(
                isinstance(x, str) and 0 < len(x) <= MAX_SYMBOL_TEXT and x == x.strip() for x in symbols):
            raise _fail(name, f"at most {MAX_SYMBOLS} symbols of 1..{MAX_SYMBOL_TEXT} characters", symbols)
    for name in ("magics_allowed", "magics_blocked"):
        magics = getattr(s, name)
        if not isinstance(magics, tuple) or len(magics) > MAX_SYMBOLS or not all(
                type(m) is int and 0 <= m <= MAX_MAGIC for m in magics):
            raise _fail(name, f"at most {MAX_SYMBOLS} magic numbers, each a whole number 0..{MAX_MAGIC}", magics)
    twice = sorted(set(s.magics_allowed) & set(s.magics_blocked))
    if twice:
        raise DomainError("invalid_settings", f"magics_blocked: {', '.join(map(str, twice))} also in magics_allowed")
    both = sorted(set(s.symbols_allowed) & set(s.symbols_blocked))
    if both:
        raise DomainError("invalid_settings", f"symbols_blocked: {', '.join(both)} also in symbols_allowed")
    if not isinstance(s.symbol_map, tuple) or len(s.symbol_map) > MAX_SYMBOLS or not all(
            isinstance(p, tuple) and len(p) == 2 and all(_symbol_text(x) for x in p) for p in s.symbol_map):
        raise _fail("symbol_map", f"at most {MAX_SYMBOLS} pairs of symbols of 1..{MAX_SYMBOL_TEXT} characters",
                    s.symbol_map)
    for name in ("symbol_prefix", "symbol_suffix"):
        text = getattr(s, name)
        if not isinstance(text, str) or len(text) > MAX_AFFIX or text != text.strip() or "," in text:
            raise _fail(name, f"text of 0..{MAX_AFFIX} characters, no spaces around, no comma", text)
    if not isinstance(s.reverse, bool):
        raise _fail("reverse", "true or false", s.reverse)
    for name in ("copy_stops", "mirror_stop_changes"):
        if getattr(s, name) is not None and not isinstance(getattr(s, name), bool):
            raise _fail(name, "true, false or nil (the engine's mirror_stops)", getattr(s, name))
    if not isinstance(s.copy_pending, bool):
        raise _fail("copy_pending", "true or false", s.copy_pending)
    p = s.max_slippage_points
    if p is not None and (isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= MAX_SLIPPAGE_POINTS):
        raise _fail("max_slippage_points", f"a whole number of points 0..{MAX_SLIPPAGE_POINTS}", p)


def _symbol_text(x: object) -> bool:
    return isinstance(x, str) and 0 < len(x) <= MAX_SYMBOL_TEXT and x == x.strip() and "," not in x and "=" not in x


DEFAULT_SETTINGS = CopySettings()
_DEFAULTS = {f.name: f.default for f in fields(CopySettings) if f.init}


# ---------------------------------------------------------------------- per deal
def map_symbol(s: CopySettings, symbol: str) -> str:
    """The investor's name of the trader's `symbol`: an explicit pair first, else prefix +
    symbol + suffix (no mapping set: the symbol itself)."""
    for src, dst in s.symbol_map:
        if src == symbol:
            return dst
    return f"{s.symbol_prefix}{symbol}{s.symbol_suffix}"


def unmapped(s: CopySettings, name: str) -> str:
    """`name` without the subscription's prefix and suffix (the broker's catalog name of a
    cent account's "EURUSDc"), or `name` when it has neither."""
    p, x = s.symbol_prefix, s.symbol_suffix
    if (p or x) and name.startswith(p) and name.endswith(x) and len(name) > len(p) + len(x):
        return name[len(p):len(name) - len(x)]
    return name


def catalog_problem(s: CopySettings, catalog: SymbolCatalog) -> str | None:
    """Why `s`'s symbol mapping is refused against the broker's `catalog`, or None. The mapping
    renames *one* instrument (a cent account's `EURUSDc`, an alias `GOLD`), while the engine
    sizes, margins and values the copy as the catalog instrument it maps from: a name that is
    itself a catalog symbol of another market or contract (base, quote or contract size differ:
    `XAUUSD=XAGUSD` would open silver on gold's figures) is refused; a twin of the same contract
    (`EURUSD=EURUSDc`, both quoted) is the same instrument under another name."""
    if not s.mapping:
        return None

    def other(src: str, name: str) -> str | None:  # the catalog name `name` stands for, if another market
        found = name if name in catalog else unmapped(s, name)
        if src not in catalog or found not in catalog or found == src:
            return None
        a, b = catalog.get(src), catalog.get(found)
        return found if (a.base, a.quote, a.contract_size) != (b.base, b.quote, b.contract_size) else None

    for src, dst in s.symbol_map:
        found = other(src, dst)
        if found is not None:
            return (f"symbol_map: {src}={dst} maps {src} onto another instrument ({found}); a pair names "
                    f"the same instrument on the investor's side (a suffix, an alias)")
    if s.symbol_prefix or s.symbol_suffix:
        mapped = {src for src, _ in s.symbol_map}
        for name in catalog.names():
            renamed = f"{s.symbol_prefix}{name}{s.symbol_suffix}"
            if name not in mapped and renamed in catalog and other(name, renamed) is not None:
                return (f"symbol_prefix/symbol_suffix: {name} becomes {renamed}, another instrument; "
                        f"the affixes name the same instrument on the investor's side")
    return None


def filter_refusal(s: CopySettings, symbol: str, side: Side, trader_volume: Decimal,
                   magic: int | None = None) -> tuple[str, str, dict[str, str]] | None:
    """(code, detail, details) when the filters keep the trader's deal from being copied.
    `magic`: the trader's magic number of the deal or order; None when the terminal did not
    say it (an allow list then refuses: it copies only the magics it names)."""
    if s.symbols_allowed and symbol not in s.symbols_allowed:
        allowed = ",".join(s.symbols_allowed)
        return ("symbol_not_allowed", f"{symbol} is not in the subscription's symbols {allowed}",
                {"symbol": symbol, "symbols_allowed": allowed})
    if symbol in s.symbols_blocked:
        return ("symbol_blocked", f"{symbol} is blocked by the subscription",
                {"symbol": symbol, "symbols_blocked": ",".join(s.symbols_blocked)})
    if s.side is not CopySide.BOTH and side.value != s.side.value:
        return ("side_filtered", f"a {side.value} of the trader; the subscription copies {s.side.value} only",
                {"side": side.value, "copies": s.side.value})
    if s.min_trader_volume is not None and trader_volume < s.min_trader_volume:
        return ("trader_volume_below_min", f"trader volume {trader_volume} < {s.min_trader_volume} lots",
                {"trader_volume": str(trader_volume), "limit": str(s.min_trader_volume)})
    if s.max_trader_volume is not None and trader_volume > s.max_trader_volume:
        return ("trader_volume_above_max", f"trader volume {trader_volume} > {s.max_trader_volume} lots",
                {"trader_volume": str(trader_volume), "limit": str(s.max_trader_volume)})
    if s.magics_allowed and magic not in s.magics_allowed:
        allowed = ",".join(map(str, s.magics_allowed))
        shown = "unknown" if magic is None else str(magic)
        return ("magic_not_allowed", f"magic {shown} is not in the subscription's magics {allowed}",
                {"magic": shown, "magics_allowed": allowed})
    if magic is not None and magic in s.magics_blocked:
        return ("magic_blocked", f"magic {magic} is blocked by the subscription",
                {"magic": str(magic), "magics_blocked": ",".join(map(str, s.magics_blocked))})
    return None


def slippage_points(copy: Side, trader_price: Decimal, quote: tuple[Decimal, Decimal], point: Decimal) -> Decimal:
    """How far, in points, the investor's price - ask for a buy copy, bid for a sell - is from
    the trader's fill, in either direction."""
    return abs((quote[1] if copy is Side.BUY else quote[0]) - trader_price) / point


def slippage_refusal(s: CopySettings, copy: Side, trader_price: Decimal, quote: tuple[Decimal, Decimal] | None,
                     point: Decimal) -> tuple[str, str, dict[str, str]] | None:
    """(code, detail, details) when the investor's price - the engine's latest quote of the
    symbol - is more than `max_slippage_points` from the trader's fill (`slippage_points`).
    No quote known: not checked (nothing to compare)."""
    limit = s.max_slippage_points
    if limit is None or quote is None or point <= 0:
        return None
    points = slippage_points(copy, trader_price, quote, point)
    if points <= limit:
        return None
    price = quote[1] if copy is Side.BUY else quote[0]
    shown = f"{points.normalize():f}"
    return ("slippage", f"investor price {price} is {shown} points from the trader's {trader_price} (limit {limit})",
            {"trader_price": str(trader_price), "investor_price": str(price), "difference_points": shown,
             "limit_points": str(limit)})
