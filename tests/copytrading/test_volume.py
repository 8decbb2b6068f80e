"""§4.5 / §5 volumes through the engine, with the seed's own numbers."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.copytrading import CopyRefused, OpenCopy
from bridge.domain.sizing import VolumeMode, copy_volume, normalise
from tests.copytrading.helpers import World, of


def test_seed_example_proportional_0_2_lots():
    # §4.5.2: trader equity $500 at 1:200, investor equity $200 at 1:100, 1 lot -> 0.2 lots.
    w = World()
    w.trader(equity="500", leverage=200)
    w.investor("I", amount="200", mode=VolumeMode.PROPORTIONAL, leverage=100)
    # ETHUSD: small notional, so the margin check passes and the copy opens.
    _, step = w.open("1", symbol="ETHUSD", price="3000.00")
    (cmd,) = of(step, OpenCopy)
    assert cmd.volume == D("0.20")


def test_seed_example_on_eurusd_is_sized_then_refused_for_margin():
    # The same 0.2 lots of EURUSD need 216.00 of margin at 1:100: more than the $200 equity.
    w = World()
    w.trader(equity="500", leverage=200)
    w.investor("I", amount="200", mode=VolumeMode.PROPORTIONAL, leverage=100)
    _, step = w.open("1", symbol="EURUSD", price="1.08000")
    (refusal,) = of(step, CopyRefused)
    assert refusal.code == "no_money"
    assert refusal.detail.startswith("0.20 lots")


def test_rounding_examples_0_324_and_0_325():
    w = World()
    w.trader()
    w.investor("I", amount="5000")
    _, step = w.open("0.324")
    assert of(step, OpenCopy)[0].volume == D("0.32")
    _, step = w.open("0.325")
    assert of(step, OpenCopy)[0].volume == D("0.33")


def test_below_0_005_rejected_and_0_005_rounds_up_to_0_01():
    w = World()
    w.trader(equity="10000", leverage=100)
    w.investor("I", amount="1000", mode=VolumeMode.PROPORTIONAL, leverage=100)
    # ratio 1000/10000 = 0.1: 0.04 lots -> 0.004 (rejected), 0.05 -> 0.005 (-> 0.01)
    _, step = w.open("0.04")
    assert [r.code for r in of(step, CopyRefused)] == ["below_min_volume"]
    _, step = w.open("0.05")
    assert of(step, OpenCopy)[0].volume == D("0.01")


def test_above_100_lots_not_opened():
    w = World()
    w.trader(equity="1000", leverage=100)
    w.investor("I", amount="100000", mode=VolumeMode.PROPORTIONAL, leverage=100, deposit="100000")
    _, step = w.open("1.01", symbol="ETHUSD", price="10.00")  # 100 x 1.01 = 101 lots
    assert [r.code for r in of(step, CopyRefused)] == ["above_max_volume"]


def test_symbol_volume_step_is_respected():
    w = World()
    w.trader()
    w.investor("I", amount="5000")
    _, step = w.open("0.25", symbol="US30", price="39000.0")  # indices trade in 0.1 lots
    assert [r.code for r in of(step, CopyRefused)] == ["invalid_volume"]


@settings(max_examples=300, deadline=None)
@given(ie=st.decimals("0.01", "10000000", places=2), te=st.decimals("0.01", "10000000", places=2),
       il=st.sampled_from([1, 50, 100, 200, 500, 1000, 3000]), tl=st.sampled_from([1, 100, 500, 2000]),
       tv=st.decimals("0.01", "100", places=2))
def test_engine_fast_path_equals_domain_copy_volume(ie, te, il, tv, tl):
    # The engine's per-deal precomputation is the domain's formula with the same operands.
    fast = normalise(ie * il * tv / (te * tl))
    assert fast == copy_volume(VolumeMode.PROPORTIONAL, tv, investor_equity=ie, trader_equity=te,
                               investor_leverage=il, trader_leverage=tl)
