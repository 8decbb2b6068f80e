"""Partner (IB) remuneration: seed 003 §11 and the partner program of seed 000.

* Investor volume pays the investor's IB `config.investor_rate(group)` USD per lot (1 for
  forex and metals, up to 1.5 for other instruments).
* Trader volume pays the trader's IB per their IB agreement (`trader_rate_per_lot`, or the
  config default).
* Multi-level: each referrer up the chain receives `multilevel_shares[i]` of the level-0
  amount (broker-funded, in addition; the IB's own amount is not reduced).
* Volume is counted per round turn, when a deal closes (a partial close counts its closed
  lots): one lot opened and closed is one lot. Counting at close pays only for trades that
  actually happened (a refused or never-filled copy pays nothing) and with their final volume.
* Amounts accrue exactly and are credited to the partner's wallet hourly, rounded half up
  to the cent; the sub-cent remainder carries to the next hour.
* Rebates (seed 000: "a part of the partner revenue shared with referred clients ... the
  rebate level can be set by partners"): a partner's `rebate_pct` (0-100 %) of the revenue
  from a referred client's own volume (level 0) goes to that client, split off when the deal
  accrues and credited to the client's wallet with the same hourly credit (the partner gets
  the rest). Multi-level amounts are not shared: they come from a sub-partner, not a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bridge.copytrading.config import EngineConfig
from bridge.copytrading.records import IBCredited, PartnerAccrued, RebateCredited, WalletMovement
from bridge.copytrading.wallet import Wallets
from bridge.domain.money import HUNDRED, round_money

ZERO = Decimal(0)


@dataclass(slots=True)
class Partner:
    id: str
    referrer: str | None = None
    trader_rate_per_lot: Decimal | None = None
    rebate_pct: Decimal = ZERO  # share of level-0 revenue credited back to the referred client


@dataclass(slots=True)
class PartnerBook:
    partners: dict[str, Partner] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)  # client id -> partner id
    pending: dict[str, Decimal] = field(default_factory=dict)  # exact, not yet credited
    credited: Decimal = ZERO  # total ever credited (broker-funded), rebates included
    rebates: dict[str, Decimal] = field(default_factory=dict)  # client id -> exact rebate not yet credited

    def register(self, partner: str, referrer: str | None, trader_rate: Decimal | None) -> str | None:
        """Returns a refusal code or None."""
        if referrer is not None:
            if referrer not in self.partners:
                return "unknown_referrer"
            chain, p = set(), referrer
            while p is not None:
                if p == partner or p in chain:
                    return "referral_cycle"
                chain.add(p)
                p = self.partners[p].referrer
        if trader_rate is not None and trader_rate < 0:
            return "invalid_rate"
        self.partners[partner] = Partner(partner, referrer, trader_rate)
        return None

    def _spread(self, now: int, first: str, source: str, client: str, lots: Decimal, base: Decimal,
                config: EngineConfig) -> list[PartnerAccrued]:
        if base <= 0:
            return []
        out = []
        partner: str | None = first
        for level in range(len(config.multilevel_shares) + 1):
            if partner is None:
                break
            amount = base if level == 0 else base * config.multilevel_shares[level - 1]
            if amount > 0:
                rebate = amount * self.partners[partner].rebate_pct / HUNDRED if level == 0 else ZERO
                if rebate:
                    self.rebates[client] = self.rebates.get(client, ZERO) + rebate
                self.pending[partner] = self.pending.get(partner, ZERO) + amount - rebate
                out.append(PartnerAccrued(now, partner, source, client, lots, amount, level))
            partner = self.partners[partner].referrer if partner in self.partners else None
        return out

    def investor_volume(self, now: int, investor: str, group: str, lots: Decimal,
                        config: EngineConfig) -> list[PartnerAccrued]:
        ib = self.clients.get(investor)
        if ib is None:
            return []
        return self._spread(now, ib, "investor_volume", investor, lots, lots * config.investor_rate(group), config)

    def trader_volume(self, now: int, trader: str, lots: Decimal, config: EngineConfig) -> list[PartnerAccrued]:
        ib = self.clients.get(trader)
        if ib is None:
            return []
        rate = self.partners[ib].trader_rate_per_lot
        if rate is None:
            rate = config.trader_ib_rate_per_lot
        return self._spread(now, ib, "trader_volume", trader, lots, lots * rate, config)

    def credit(self, now: int, wallets: Wallets) -> list[IBCredited | RebateCredited | WalletMovement]:
        """The hourly credit: every partner with at least a cent pending, by partner id, then
        every client's rebate of at least a cent, by client id (sub-cent rests carry)."""
        out: list[IBCredited | RebateCredited | WalletMovement] = []
        for partner in sorted(self.pending):
            amount = round_money(self.pending[partner])
            if amount <= 0:
                continue
            self.pending[partner] -= amount
            self.credited += amount
            out.append(IBCredited(now, partner, amount))
            out.append(wallets.move(now, partner, amount, "ib_credit"))
        for client in sorted(self.rebates):
            amount = round_money(self.rebates[client])
            if amount <= 0:
                continue
            self.rebates[client] -= amount
            self.credited += amount
            out.append(RebateCredited(now, self.clients[client], client, amount))
            out.append(wallets.move(now, client, amount, "rebate"))
        return out
