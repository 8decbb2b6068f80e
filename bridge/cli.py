"""The `mtbridge` command: parses arguments and calls the packages. No rules live here."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tomllib
from collections.abc import Callable, Sequence
from decimal import Decimal, localcontext
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bridge.domain.currency import ACCOUNT_CURRENCIES, Rates
from bridge.domain.errors import DomainError
from bridge.domain.margin_report import Close, MarginReport, Open, margin_report
from bridge.domain.money import round_money, to_decimal
from bridge.domain.rules import default_rules
from bridge.domain.sizing import VolumeMode, copy_volume
from bridge.domain.trading import Side
from bridge.protocol.schema import MAX_AMOUNT
from bridge.protocol.schema import MAX_LEVERAGE as PROTOCOL_MAX_LEVERAGE


class UsageError(Exception):
    """Bad input from the command line: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one clear line (plus a pointer to --help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.root_log_level:
        from bridge.daemon.running import configure_logging

        configure_logging(pretty=sys.stderr.isatty(), level=args.root_log_level)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (UsageError, DomainError) as exc:
        print(f"mtbridge {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mtbridge")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> Parser:
    parser = Parser(prog="mtbridge", description="Copy-trading and risk bridge for MetaTrader 4/5.")
    parser.add_argument("--version", action="version", version=f"mtbridge {_version()}")
    parser.add_argument("--log-level", dest="root_log_level", choices=("debug", "info", "warning", "error"),
                        help="log level of every command (a command's own --log-level wins)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _add_margin(commands)
    _add_copy_volume(commands)
    # Shell packages register their own commands; their heavy imports happen in the handlers.
    from bridge.daemon.admincli import add_commands as add_admin_commands
    from bridge.daemon.cluster_cli import add_commands as add_cluster_commands
    from bridge.daemon.commands import add_commands as add_daemon_commands
    from bridge.monitor.commands import add_commands as add_monitor_commands

    add_daemon_commands(commands)
    add_admin_commands(commands)
    add_cluster_commands(commands)
    add_monitor_commands(commands)
    for add_commands in plugin_commands():
        add_commands(commands)
    _add_completion(commands)
    return parser


def _add_completion(commands: argparse._SubParsersAction) -> None:
    from bridge.completion import SHELLS

    p = commands.add_parser(
        "completion", help="print a shell completion script (bash or zsh)",
        description="Print a completion script for every mtbridge command, option and fixed choice, generated "
                    "from this parser (a new command completes after re-running it). See docs/operations.md.",
        epilog="examples: mtbridge completion bash > ~/.local/share/bash-completion/completions/mtbridge; "
               "source <(mtbridge completion bash); mtbridge completion zsh > \"${fpath[1]}/_mtbridge\"")
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(handler=_completion)


def _completion(args: argparse.Namespace) -> int:
    from bridge.completion import script

    sys.stdout.write(script(args.shell, build_parser()))
    return 0


# --- commands of other packages ---------------------------------------------------------

#: the entry-point group through which other packages add commands (`simulate`, `demo`):
#: `name = "module:function"`, the function taking the subparsers object. The bridge never
#: imports those packages by name: the arrows point from them to the bridge.
COMMANDS_GROUP = "mtbridge.commands"


def plugin_entries(project: Path | None = None) -> list[tuple[str, str]]:
    """(name, "module:function") of the commands other packages register, in declaration order.

    A source checkout's own pyproject.toml (`project`, default: the one beside this package)
    wins: an editable install's metadata may predate a command added since. An installed
    distribution answers from its metadata."""
    if project is None:
        project = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if project.is_file():
        try:
            data = tomllib.loads(project.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            data = {}
        if data.get("project", {}).get("name") == "mtbridge":
            table = data["project"].get("entry-points", {}).get(COMMANDS_GROUP, {})
            return [(str(k), str(v)) for k, v in table.items()]
    return [(ep.name, ep.value) for ep in entry_points(group=COMMANDS_GROUP)]


def plugin_commands(entries: Sequence[tuple[str, str]] | None = None) -> list[Callable[[Any], None]]:
    """The `add_commands` functions of the registered packages. A package that is not installed
    (a bridge-only install without the simulator) is skipped; any other import error surfaces."""
    found = []
    for _name, target in plugin_entries() if entries is None else entries:
        module_name, _, attr = target.partition(":")
        module_name = module_name.strip()
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
                continue  # the package itself is absent, not something it needs
            raise
        found.append(getattr(module, attr.strip() or "add_commands"))
    return found


# --- margin ----------------------------------------------------------------------------

def _add_margin(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "margin", help="tiered margin of a set of positions (docs/margin.md)",
        description="Tiered margin of positions on one account, bracket by bracket. ACTIONS is a "
                    "sequence of `buy|sell LOTS SYMBOL@PRICE` and `close N` (N = the Nth position opened).",
        epilog="example: mtbridge margin --leverage 1000 --currency USD buy 1 GBPUSD@1.4584 buy 5 EURUSD@1.3175",
    )
    p.add_argument("--leverage", type=_positive_int, required=True, help="account leverage, e.g. 1000 for 1:1000")
    p.add_argument("--currency", type=_currency, required=True, help=f"account currency: {', '.join(ACCOUNT_CURRENCIES)}")
    p.add_argument("--account-type", default="standard",
                   help="account type id or alias (standard, standard_cent, pro, raw_spread, mt5_standard, ...)")
    p.add_argument("--rate", action="append", default=[], metavar="PAIR=RATE",
                   help="conversion rate when a quote currency differs from the account's, e.g. USDJPY=150.25")
    p.add_argument("--steps", action="store_true", help="also print the margin after each action")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("actions", nargs="+", metavar="ACTION")
    p.set_defaults(handler=_run_margin)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    if value > MAX_LEVERAGE:
        raise argparse.ArgumentTypeError(f"{value} is out of range (at most {MAX_LEVERAGE:,})")
    return value


def _currency(text: str) -> str:
    code = text.upper()
    if code not in ACCOUNT_CURRENCIES:
        raise argparse.ArgumentTypeError(f"unknown currency {text!r} (known: {', '.join(ACCOUNT_CURRENCIES)})")
    return code


#: the largest leverage the command line takes: the wire protocol's (1:1 000 000; brokers offer
#: up to 1:3000)
MAX_LEVERAGE = PROTOCOL_MAX_LEVERAGE
#: the largest magnitude a volume, price, rate or equity may have on the command line: the wire
#: protocol's bound on money and prices (1e12), far above any real one, far below where 28-digit
#: Decimal arithmetic overflows (1e400 lots, a price of 1e30)
MAX_MAGNITUDE = MAX_AMOUNT
#: the most decimal places a number may have on the command line (trailing zeros aside): far
#: more than any volume, price or rate has, and few enough that the arithmetic below is exact
#: (a tiny divisor such as 1e-999999999 would otherwise divide by zero in 28-digit context)
MAX_PLACES = 40
#: the digits `copy-volume` computes with: every product of inputs within MAX_MAGNITUDE and
#: MAX_PLACES is exact, so no mode rounds before the seed's half-up to 0.01 (0.00499... lots
#: with 32 places is refused by multiplier 1 as by equal, not rounded to 0.005 first)
PRECISION = 600


def _number(text: str, what: str) -> Decimal:
    try:
        value = to_decimal(text, what)
    except DomainError as exc:
        raise UsageError(exc.detail) from None
    if value.is_zero():
        return Decimal(0)  # 0E-50 or 0E+999999999: zero whatever its exponent
    # adjusted() is the exponent of the leading digit: range-checked before any arithmetic,
    # which overflows on 1e999999999
    if value.adjusted() > MAX_MAGNITUDE.adjusted() or abs(value) > MAX_MAGNITUDE:
        raise UsageError(f"{what}: {text} is out of range (at most {MAX_MAGNITUDE:,.0f} in magnitude)")
    _, digits, exponent = value.as_tuple()
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if -exponent - zeros > MAX_PLACES:  # type: ignore[operator]
        raise UsageError(f"{what}: {text} has more than {MAX_PLACES} decimal places")
    return value


def parse_actions(tokens: Sequence[str]) -> list[Open | Close]:
    actions: list[Open | Close] = []
    i = 0
    while i < len(tokens):
        word = tokens[i].lower()
        if word == "close":
            if i + 1 >= len(tokens) or not tokens[i + 1].isdigit():
                raise UsageError("`close` needs a position number, e.g. `close 3`")
            actions.append(Close(int(tokens[i + 1])))
            i += 2
            continue
        if word not in ("buy", "sell"):
            raise UsageError(f"expected buy, sell or close, got {tokens[i]!r}")
        if i + 2 >= len(tokens):
            raise UsageError(f"`{word}` needs LOTS and SYMBOL@PRICE, e.g. `{word} 1 EURUSD@1.1000`")
        volume = _number(tokens[i + 1], "volume")
        if volume <= 0:
            raise UsageError(f"volume {tokens[i + 1]} must be positive")
        symbol, at, price_text = tokens[i + 2].partition("@")
        if not at or not symbol or not price_text:
            raise UsageError(f"malformed {tokens[i + 2]!r}: expected SYMBOL@PRICE, e.g. EURUSD@1.1000")
        price = _number(price_text, f"price of {symbol}")
        if price <= 0:
            raise UsageError(f"price {price_text} of {symbol} must be positive")
        actions.append(Open(Side(word), volume, symbol.upper(), price))
        i += 3
    return actions


def _rates(pairs: Sequence[str], actions: Sequence[Open | Close]) -> Rates:
    """Each position's own price is a rate for its pair; --rate adds the others."""
    rules = default_rules()
    rates: dict[str, Decimal] = {}
    for a in actions:
        if isinstance(a, Open) and a.symbol in rules.symbols:
            spec = rules.symbols.get(a.symbol)
            rates[spec.base + spec.quote] = a.price
    for item in pairs:
        pair, eq, value = item.partition("=")
        if not eq or len(pair) != 6 or not pair.isalpha():
            raise UsageError(f"malformed --rate {item!r}: expected PAIR=RATE, e.g. USDJPY=150.25")
        rate = _number(value, f"rate {pair}")
        if rate <= 0:
            raise UsageError(f"rate {pair} must be positive")
        rates[pair.upper()] = rate
    return Rates(rates)


def _run_margin(args: argparse.Namespace) -> int:
    actions = parse_actions(args.actions)
    report = margin_report(default_rules(), args.account_type, args.currency, args.leverage,
                           actions, _rates(args.rate, actions))
    if args.json:
        print(json.dumps(margin_json(report), indent=2))
    else:
        print(margin_text(report, args.steps))
    return 0


def _s(value: Decimal, places: int = 2) -> str:
    return f"{round_money(value, places):f}"


def _bound(value: Decimal | None) -> str:
    return "more" if value is None else f"{value.normalize():,f}".replace(",", " ")


def margin_json(report: MarginReport) -> dict:
    return {
        "account_type": report.account_type, "tier_family": report.tier_family,
        "currency": report.currency, "leverage": report.leverage,
        "margin": _s(report.margin),
        "steps": [{"action": _action_text(s.action), "margin": _s(s.margin)} for s in report.steps],
        "groups": [{
            "group": g.group, "notional": _s(g.notional), "margin": _s(g.margin),
            "brackets": [{"from": str(b.lower.normalize()), "to": None if b.upper is None else str(b.upper.normalize()),
                          "published_leverage": b.published_leverage, "leverage": b.leverage,
                          "amount": _s(b.amount), "margin": _s(b.margin)} for b in g.brackets],
        } for g in report.groups],
        "positions": [{"number": p.number, "side": p.side.value, "volume": str(p.volume), "symbol": p.symbol,
                       "price": str(p.price), "group": p.group, "notional": _s(p.notional), "margin": _s(p.margin)}
                      for p in report.positions],
    }


def _action_text(action: Open | Close) -> str:
    if isinstance(action, Close):
        return f"close {action.number}"
    return f"{action.side.value} {action.volume} {action.symbol}@{action.price}"


def margin_text(report: MarginReport, steps: bool) -> str:
    ccy = report.currency
    out = [f"Account: {report.account_type} ({report.tier_family} tiers), {ccy}, 1:{report.leverage}"]
    if steps:
        out.append("")
        out.append("Margin after each action:")
        for i, s in enumerate(report.steps, 1):
            out.append(f"  step {i}: {_action_text(s.action):<28} margin {_s(s.margin):>14} {ccy}")
    out.append("")
    out.append(f"{'#':>3}  {'side':<4} {'lots':>7}  {'symbol':<8} {'price':>11}  {'notional':>16}  {'margin':>12}")
    for p in report.positions:
        out.append(f"{p.number:>3}  {p.side.value:<4} {p.volume:>7}  {p.symbol:<8} {p.price:>11}  "
                   f"{_s(p.notional):>16}  {_s(p.margin):>12}")
    for g in report.groups:
        out.append("")
        out.append(f"Group {g.group}: aggregate notional {_s(g.notional)} {ccy}")
        for b in g.brackets:
            capped = f" (1:{b.published_leverage} capped)" if b.published_leverage > b.leverage else ""
            span = f"{_bound(b.lower)} - {_bound(b.upper)}"
            out.append(f"  {span:<24} {_s(b.amount):>16} / {b.leverage:<5}= {_s(b.margin):>12}{capped}")
        out.append(f"  {'group margin':<24} {'':>16}   {'':<5}  {_s(g.margin):>12}")
    out.append("")
    out.append(f"Total margin: {_s(report.margin)} {ccy}")
    return "\n".join(out)


# --- copy-volume -----------------------------------------------------------------------

def _add_copy_volume(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "copy-volume", help="volume of a copied trade (docs/copy-trading.md)",
        description="Volume of the investor's copy of a trader deal: the mode's formula, then the seed's limits "
                    "(half up to 0.01 lot, below 0.005 refused, 0.005-0.01 -> 0.01, above 100 lots not opened) "
                    "(docs/copy-trading.md).",
        epilog="examples: mtbridge copy-volume --mode proportional --investor-equity 200 --trader-equity 500 "
               "--investor-leverage 100 --trader-leverage 200 --volume 1;  "
               "mtbridge copy-volume --mode multiplier --multiplier 1.5 --volume 0.33",
    )
    p.add_argument("--mode", choices=[m.value for m in VolumeMode], required=True)
    p.add_argument("--volume", required=True, help="the trader's volume in lots")
    p.add_argument("--investor-equity")
    p.add_argument("--trader-equity")
    p.add_argument("--investor-leverage", type=_positive_int)
    p.add_argument("--trader-leverage", type=_positive_int)
    p.add_argument("--fixed-volume", help="lots, mode fixed")
    p.add_argument("--multiplier", help="x the trader's volume, mode multiplier")
    p.add_argument("--investor-balance", help="mode balance_ratio")
    p.add_argument("--trader-balance", help="mode balance_ratio")
    p.add_argument("--investor-currency", type=_currency, default="USD",
                   help="currency of --investor-equity / --investor-balance (USC: US cents); default USD")
    p.add_argument("--trader-currency", type=_currency, default="USD",
                   help="currency of --trader-equity / --trader-balance; converted into the investor's at --rate")
    p.add_argument("--rate", action="append", default=[], metavar="PAIR=RATE",
                   help="a conversion rate, e.g. EURUSD=1.25 (repeatable)")
    p.add_argument("--json", action="store_true", help='print {"volume": ..., "rejected": ...}')
    p.set_defaults(handler=_run_copy_volume)


#: what each mode needs on the command line (besides --volume)
_MODE_NEEDS = {
    "proportional": ("investor_equity", "trader_equity", "investor_leverage", "trader_leverage"),
    "fixed": ("fixed_volume",),
    "multiplier": ("multiplier",),
    "balance_ratio": ("investor_balance", "trader_balance"),
}


def _run_copy_volume(args: argparse.Namespace) -> int:
    from bridge.copytrading.settings import CopySettings

    volume = _number(args.volume, "volume")
    if volume <= 0:
        raise UsageError(f"volume {args.volume} must be positive")
    needs = _MODE_NEEDS.get(args.mode, ())
    missing = [f"--{n.replace('_', '-')}" for n in needs if getattr(args, n) is None]
    if missing:
        raise UsageError(f"{args.mode} mode needs {', '.join(missing)}")
    extra: dict[str, Any] = {}
    if args.mode == "proportional":
        extra = dict(investor_equity=_number(args.investor_equity, "investor equity"),
                     trader_equity=_number(args.trader_equity, "trader equity"),
                     investor_leverage=args.investor_leverage, trader_leverage=args.trader_leverage,
                     investor_currency=args.investor_currency, trader_currency=args.trader_currency,
                     rates=_rates(args.rate, ()))
    elif args.mode == "balance_ratio":
        extra = dict(investor_balance=_number(args.investor_balance, "investor balance"),
                     trader_balance=_number(args.trader_balance, "trader balance"),
                     investor_currency=args.investor_currency, trader_currency=args.trader_currency,
                     rates=_rates(args.rate, ()))
    elif args.mode in ("fixed", "multiplier"):
        # the subscription's own rule for the parameter (CopySettings: > 0 and <= 100)
        name = "fixed_volume" if args.mode == "fixed" else "multiplier"
        settings = CopySettings.from_dict({"mode": args.mode, name: _number(getattr(args, name), name)})
        extra = {name: getattr(settings, name)}
    with localcontext() as ctx:
        ctx.prec = PRECISION
        decision = copy_volume(args.mode, volume, **extra)
    if args.json:
        print(json.dumps({"volume": None if decision.volume is None else str(decision.volume),
                          "rejected": decision.reason}))
    elif decision.volume is not None:
        print(decision.volume)
    else:
        print(f"not opened: {decision.reason} (raw volume {decision.raw})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
