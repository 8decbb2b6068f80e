"""One source for each concept in mql/ (read from the source, comments and strings stripped):
every free function defined once per platform branch, one netting check used by both EAs,
one trade-server clock (Util.mqh), one reader of MT4's server-written order comments, one
watch for both EAs, one wording for a disabled account."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.mql.mqlsource import body, code

ROOT = Path(__file__).resolve().parents[2]
MQL = ROOT / "mql"
INC = MQL / "Include/MtBridge"
EAS = {"MtBridgeTrader": MQL / "Experts/MtBridgeTrader.mql", "MtBridgeInvestor": MQL / "Experts/MtBridgeInvestor.mql"}
SOURCES = sorted(p for p in MQL.rglob("*") if p.suffix in {".mqh", ".mql"})


def for_branch(text: str, branch: str) -> str:
    """The text the MQL compiler of `branch` ("MQL5" / "MQL4") sees: `#ifdef __MQL5__` /
    `#ifdef __MQL4__` / `#else` / `#endif` resolved; other conditionals (include guards) kept."""
    out, stack = [], []  # stack: (is_platform, active)
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"#ifn?def\s+(\w+)", s)
        if m:
            platform = m.group(1) in ("__MQL5__", "__MQL4__")
            active = (m.group(1) == f"__{branch}__") != s.startswith("#ifndef") if platform else True
            stack.append((platform, active))
            continue
        if s.startswith("#else") and stack:
            platform, active = stack.pop()
            stack.append((platform, not active if platform else True))
            continue
        if s.startswith("#endif") and stack:
            stack.pop()
            continue
        if all(active for _, active in stack):
            out.append(line)
    return "\n".join(out)


DEFINITION = re.compile(r"^[A-Za-z_][\w ]*?\b(Mtb\w+)\s*\([^;{}]*\)\s*\{", re.M)


def test_the_branch_reader_resolves_platform_conditionals():
    text = "#ifndef G\n#ifdef __MQL5__\nfive\n#else\nfour\n#endif\nboth\n#endif"
    assert for_branch(text, "MQL5").split() == ["five", "both"]
    assert for_branch(text, "MQL4").split() == ["four", "both"]


@pytest.mark.parametrize("branch", ["MQL5", "MQL4"])
def test_every_free_function_is_defined_once(branch):
    where: dict[str, list[str]] = {}
    for path in SOURCES:
        for m in DEFINITION.finditer(for_branch(code(path), branch)):
            where.setdefault(m.group(1), []).append(path.name)
    assert "MtbUtcOffsetMs" in where and "MtbHedgingAccount" in where  # the reader finds definitions
    twice = {name: files for name, files in where.items() if len(files) > 1}
    assert not twice, f"defined more than once ({branch}): {twice}"


def test_one_netting_check_for_the_investor_ea_one_margin_mode_reader():
    # the investor EA refuses netting; the trader EA runs there and says so in hello (issue 15 item 9)
    init = body(code(EAS["MtBridgeInvestor"]), "int OnInit()")
    assert re.search(r'if\(!MtbHedgingAccount\(""\)\)\s*return\(INIT_FAILED\);', init)
    assert 'MtbHedgingAccount("MtBridgeInvestor")' in EAS["MtBridgeInvestor"].read_text(encoding="utf-8")
    assert "MtbHedgingAccount" not in code(EAS["MtBridgeTrader"])
    for path in SOURCES:
        if path.name != "Util.mqh":
            assert "ACCOUNT_MARGIN_MODE" not in code(path), f"{path.name}: a second netting check"
    # the message explains why: copies are per ticket, netting merges them
    util = (INC / "Util.mqh").read_text(encoding="utf-8")
    check = body(util, "bool MtbHedgingAccount(")
    assert "by ticket" in check and "merges every trade of a symbol into one position" in check and "netting" in check


def test_one_trade_server_clock():
    """Only Util.mqh reads the platform clocks; every "now" is MtbTradeUtcMs (UTC) or
    MtbServerNow (server time); the offset is learnt in Util.mqh and read by the reporter."""
    for path in SOURCES:
        text = code(path)
        if path.name == "Util.mqh":
            continue
        for clock in ("TimeTradeServer()", "TimeGMT()", "TimeCurrent()", "TimeLocal()", "MtbServerNowMs"):
            assert clock not in text, f"{path.name} reads {clock}: use Util.mqh's MtbTradeUtcMs / MtbServerNow"
    util = code(INC / "Util.mqh")
    assert "return(MtbServerTime(MtbTradeUtcMs()));" in body(util, "datetime MtbServerNow(")
    assert "return(MtbNowMs());" in body(util, "ulong MtbTradeUtcMs(")


def test_one_reader_of_mt4_comments():
    for path in SOURCES:
        if path.name in ("Util.mqh",):
            continue
        text = path.read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("//")]
        for marker in ('"to #', '"from #', '"[sl]"', '"[tp]"', '"so:"'):
            assert not any(marker in ln for ln in lines), f"{path.name} parses {marker} itself"
    util = code(INC / "Util.mqh")
    assert "Mt4CloseReason" in util and "MtbMt4Parent" in util and "MtbMt4Remainder" in util


def test_both_eas_run_the_one_watch_every_tick():
    for name, path in EAS.items():
        on_timer = body(code(path), "void OnTimer()")
        assert "g_reporter.Watch();" in on_timer, name
        assert "Reconcile" not in on_timer and "Poll" not in on_timer, name


def test_both_eas_take_the_frame_limit():
    for name, path in EAS.items():
        text = path.read_text(encoding="utf-8")
        assert re.search(r"^input int\s+InpMaxFrameBytes\s*=\s*65536;", text, re.M), name
        init = body(code(path), "int OnInit()")
        assert init.index("g_link.SetMaxFrame(InpMaxFrameBytes)") < init.index("g_link.Init("), name


def test_a_disabled_account_is_not_called_read_only():
    """ACCOUNT_TRADE_ALLOWED is false on the investor password AND when the broker disabled
    trading (the simulator below the minimum deposit after a stop-out): one wording names both."""
    util = (INC / "Util.mqh").read_text(encoding="utf-8")
    why = re.search(r'#define MTB_TRADE_DISABLED_WHY\s+"([^"]+)"', util).group(1)
    assert "investor password" in why and "broker disabled trading" in why
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        assert "logged in read-only" not in text, path.name
        assert "MtbLoginRole" not in text, path.name
    executor = body(code(INC / "Executor.mqh"), "bool MtbExecutor::Handle(")
    assert re.search(r"if\(!MtbAccountMayTrade\(\)\)\s*\{\s*Refuse\(r,MTB_RC_TRADE_DISABLED,MTB_TRADE_DISABLED_WHY\);",
                     executor)
    assert "MTB_TRADE_DISABLED_WHY" in EAS["MtBridgeInvestor"].read_text(encoding="utf-8")
