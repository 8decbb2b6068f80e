"""Per-position money: profit, swap and commission, in the account currency.

Profit and swap accrue in the symbol's quote currency and are converted with the rates the
caller passes (the current ones). Results are exact Decimals; callers round money to the
account currency's cent when it is booked.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from bridge.domain.account_types import AccountType
from bridge.domain.currency import Rates
from bridge.domain.instruments import SymbolSpec


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


def profit(spec: SymbolSpec, side: Side, volume: Decimal, open_price: Decimal, close_price: Decimal,
           account_currency: str, rates: Rates) -> Decimal:
    """(close - open) x volume x contract size, signed by side, in the account currency."""
    in_quote = (close_price - open_price) * side.sign * volume * spec.contract_size
    return rates.convert(in_quote, spec.quote, account_currency)


def swap_nights(spec: SymbolSpec, weekday: int) -> int:
    """Nights charged at a rollover that ends `weekday` (0=Monday): three on the triple day."""
    return 3 if weekday == spec.swap_triple_day else 1


def swap(spec: SymbolSpec, side: Side, volume: Decimal, nights: int, account_currency: str,
         rates: Rates) -> Decimal:
    """Swap in points (MT5 SYMBOL_SWAP_MODE_POINTS): points x point x contract size x lots."""
    points = spec.swap_long if side is Side.BUY else spec.swap_short
    in_quote = points * spec.point * spec.contract_size * volume * nights
    return rates.convert(in_quote, spec.quote, account_currency)


def commission(account_type: AccountType, volume: Decimal, account_currency: str, rates: Rates) -> Decimal:
    """Commission for one side of a deal (charged on open and on close), negative = a charge."""
    return -rates.convert(account_type.commission_per_lot * volume, "USD", account_currency)
