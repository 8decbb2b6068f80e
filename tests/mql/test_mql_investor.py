"""Static checks of the investor EA's decisions (mql/Experts/MtBridgeInvestor.mql and the
Executor / Journal / Instance includes), for what can be asserted on the text without a
MetaTrader compiler: the netting refusal, the single-instance lock, the permission checks,
crash-safe compaction, the unknown-outcome codes, the key store's names, the journal's
record layout, the heartbeat between commands (review rows 3/4, 5, 6, 9, 11, 12, 16, 17,
22, 23, 24, 27 of ../shared/reviews/mql-review.md). Behaviour is run by mqlnative's e2e.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.protocol.schema import RETCODE_EXPIRED
from simulator.server import retcodes
from tests.mql.mqlsource import body, strip_code, with_parts

ROOT = Path(__file__).resolve().parents[2]
MQL = ROOT / "mql"
INC = MQL / "Include/MtBridge"
INVESTOR = (MQL / "Experts/MtBridgeInvestor.mql").read_text(encoding="utf-8")
TRADER = (MQL / "Experts/MtBridgeTrader.mql").read_text(encoding="utf-8")
EXECUTOR = (INC / "Executor.mqh").read_text(encoding="utf-8")
EXEC_MT5 = (INC / "ExecutorMt5.mqh").read_text(encoding="utf-8")
EXEC_MT4 = (INC / "ExecutorMt4.mqh").read_text(encoding="utf-8")
JOURNAL = (INC / "Journal.mqh").read_text(encoding="utf-8")
INSTANCE = (INC / "Instance.mqh").read_text(encoding="utf-8")
PROTOCOL = with_parts(INC / "Protocol.mqh")  # the one include and its parts
DOC = (ROOT / "docs/mql.md").read_text(encoding="utf-8")
SOURCES = sorted(p for p in MQL.rglob("*") if p.suffix in {".mqh", ".mql"})


def mql_defines(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^#define\s+(MTB_RC_\w+)\s+(\d+)", text, re.M)}


# ---------------------------------------------------------------- start-up refusals (rows 3/4, 16, 17, 23)


def test_investor_refuses_a_netting_account_in_oninit():
    init = body(INVESTOR, "int OnInit()")
    if "MtbHedgingAccount(" in init:  # the shared helper of Util.mqh (both EAs), if used
        util = (INC / "Util.mqh").read_text(encoding="utf-8")
        where, check = "MtbHedgingAccount", body(util, "bool MtbHedgingAccount(")
        assert re.search(r'if\(!MtbHedgingAccount\("MtBridgeInvestor"\)\)\s*return\(INIT_FAILED\);', init)
    else:
        where, check = "ACCOUNT_MARGIN_MODE", re.search(r"#ifdef __MQL5__(.*?)#endif", init, re.S).group(1)
        assert "return(INIT_FAILED);" in check
    assert "AccountInfoInteger(ACCOUNT_MARGIN_MODE)" in check and "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING" in check
    assert "netting" in check, "the refusal names netting (the e2e checks the log for it)"
    # before anything is set up (lock, socket, journal)
    assert init.index(where) < init.index("g_lock.Acquire") < init.index("g_link.Init")
    # the decision is documented with an example
    assert "Netting accounts: the investor EA refuses" in DOC and "not a hedging account" in DOC


@pytest.mark.parametrize("ea", ["Investor", "Trader"])
def test_both_eas_take_the_instance_lock_and_release_it(ea):
    text = INVESTOR if ea == "Investor" else TRADER
    init, deinit = body(text, "int OnInit()"), body(text, "void OnDeinit(")
    assert "#include <MtBridge/Instance.mqh>" in text
    assert re.search(rf'if\(!g_lock\.Acquire\("MtBridge{ea}",', init)
    assert init.index("g_lock.Acquire") < init.index("g_link.Init")
    assert "g_lock.Release();" in deinit
    # every failure return after the lock was taken releases it
    after = init[init.index("g_lock.Acquire") :]
    failures = re.findall(r"\{[^{}]*return\((INIT_FAILED|INIT_PARAMETERS_INCORRECT)\);[^{}]*\}", after)
    blocks = re.findall(r"\{([^{}]*return\((?:INIT_FAILED|INIT_PARAMETERS_INCORRECT)\);[^{}]*)\}", after)
    assert failures and all("g_lock.Release();" in b for b in blocks)


def test_instance_lock_is_atomic_and_temporary():
    acquire = body(INSTANCE, "bool MtbInstanceLock::Acquire(")
    release = body(INSTANCE, "void MtbInstanceLock::Release(")
    assert "GlobalVariableTemp(m_name)" in acquire
    assert "GlobalVariableSetOnCondition(m_name,1.0,0.0)" in acquire
    assert "GlobalVariableSetOnCondition(m_name,0.0,1.0)" in release
    assert "if(!m_held)" in release, "only the holder releases: a refused second instance must not unlock the first"
    assert re.search(r'#define MTB_LOCK_GLOBAL\s+"MtBridge\.lock\."', INSTANCE)
    assert "MtBridge.lock.<login>" in DOC


def test_permissions_are_the_programs_own():
    for path in SOURCES:
        assert "TERMINAL_DLLS_ALLOWED" not in strip_code(path.read_text(encoding="utf-8")), path.name
    init = body(INVESTOR, "int OnInit()")
    assert "MQLInfoInteger(MQL_DLLS_ALLOWED)" in init
    assert "TerminalInfoInteger(TERMINAL_TRADE_ALLOWED)" in init and "MQLInfoInteger(MQL_TRADE_ALLOWED)" in init
    allowed = body(EXECUTOR, "bool MtbExecutor::TradingAllowed(")
    assert "TerminalInfoInteger(TERMINAL_TRADE_ALLOWED)" in allowed and "MQLInfoInteger(MQL_TRADE_ALLOWED)" in allowed
    handle = body(EXECUTOR, "bool MtbExecutor::Handle(")
    assert re.search(r"if\(!TradingAllowed\(why\)\)\s*\{\s*Refuse\(r,MTB_RC_AUTOTRADING_OFF,why\);", handle)


# ---------------------------------------------------------------- retcodes (rows 5, 12, 17)


def test_retcode_values_are_metatraders():
    defs = mql_defines(EXECUTOR)
    for name, value in defs.items():
        if name == "MTB_RC_EXPIRED":
            assert value == RETCODE_EXPIRED
        elif name == "MTB_RC_AUTOTRADING_OFF":
            assert value == 10027  # MQL5 reference: TRADE_RETCODE_CLIENT_DISABLES_AT (not in the simulator)
        else:
            mt5 = {"MTB_RC_TOO_MANY": "TOO_MANY_REQUESTS"}.get(name, name.removeprefix("MTB_RC_"))
            assert value == getattr(retcodes, f"TRADE_RETCODE_{mt5}"), name


def test_unknown_outcomes_are_classified_on_both_platforms():
    mt5 = body(EXEC_MT5, "bool MtbUnknownOutcome(")
    for rc in ("MTB_RC_TIMEOUT", "MTB_RC_CONNECTION", "MTB_RC_PLACED", "rc==0"):
        assert rc in mt5
    mt4 = body(EXEC_MT4, "bool MtbExecutor::Mt4Unknown(")
    for err in ("ERR_TRADE_TIMEOUT", "ERR_NO_CONNECTION"):
        assert err in mt4
    mapping = body(EXEC_MT4, "long MtbExecutor::Mt4Retcode(")
    for err, rc in (("ERR_TRADE_TIMEOUT", "MTB_RC_TIMEOUT"), ("ERR_NO_CONNECTION", "MTB_RC_CONNECTION"),
                    ("ERR_TRADE_NOT_ALLOWED", "MTB_RC_AUTOTRADING_OFF")):  # fmt: skip
        assert re.search(rf"case {err}:\s*return\({rc}\);", mapping), err
    # every request path of both platforms reports an unknown outcome as such
    for text, fn in ((EXEC_MT5, "MtbUnknownOutcome(rc)"), (EXEC_MT4, "Mt4Unknown(err)")):
        for do in ("DoOpen", "DoClose", "DoModify"):
            assert f"{fn} ? MTB_OUT_UNKNOWN : MTB_OUT_REFUSED" in body(text, f"int MtbExecutor::{do}(")


def test_unknown_outcome_is_looked_up_then_left_pending_unanswered():
    handle = body(EXECUTOR, "bool MtbExecutor::Handle(")
    block = body(handle, "if(out==MTB_OUT_UNKNOWN)")
    assert re.search(r"if\(!Recover\(e,r\)\)\s*\{[^}]*return\(false\);", block, re.S)
    execute = body(INVESTOR, "void Execute(")
    assert re.search(r"if\(!g_executor\.Handle\(m,r\)\)\s*return;", execute), "no command_result for a pending key"


def test_pending_key_is_recovered_before_it_runs_and_only_when_connected():
    handle = body(EXECUTOR, "bool MtbExecutor::Handle(")
    pending = body(handle, "if(pending)\n")
    assert pending.index("TerminalInfoInteger(TERMINAL_CONNECTED)") < pending.index("Recover(e,r)")
    assert re.search(r"TERMINAL_CONNECTED\)\)\s*\{[^}]*return\(false\);", pending, re.S)
    assert handle.index("if(pending)") < handle.index("e.state=MTB_J_PENDING;") < handle.index("DoOpen(c,r)")
    # the stored result of a done key still comes first, and expiry after the look-ups
    assert handle.index("e.state==MTB_J_DONE") < handle.index("if(pending)") < handle.index("MTB_RC_EXPIRED")


def test_unrepresentable_commands_are_refused_not_reconnected():
    assert re.search(r"string\s+unrepresentable;", PROTOCOL)
    assert 'm.unrepresentable="";' in body(PROTOCOL, "bool MtbParseInbound(")
    rep = body(EXECUTOR, "bool MtbExecutor::Representable(")
    assert "why=c.unrepresentable;" in rep and "MTB_COMMENT_MAX" in rep
    handle = body(EXECUTOR, "bool MtbExecutor::Handle(")
    assert re.search(r"if\(!Representable\(c,why\)\)\s*\{\s*Refuse\(r,MTB_RC_INVALID,why\);", handle)
    assert re.search(r'!SymbolSelect\(c\.symbol,true\)\)\s*\{\s*Refuse\(r,MTB_RC_INVALID,', handle)


# ---------------------------------------------------------------- execution details (rows 7, 8, 11, 27)


def test_filling_mode_comes_from_ctrade():
    assert "SetTypeFillingBySymbol(c.symbol)" in body(EXEC_MT5, "int MtbExecutor::DoOpen(")
    assert "SetTypeFillingBySymbol(symbol)" in body(EXEC_MT5, "int MtbExecutor::DoClose(")
    assert "SetTypeFilling(" not in strip_code(EXEC_MT5) and "MtbFilling" not in EXEC_MT5
    assert "ORDER_FILLING_RETURN`; avoids retcode 10030" not in DOC


def test_mt4_market_execution_opens_without_stops_then_modifies():
    do_open = body(EXEC_MT4, "int MtbExecutor::DoOpen(")
    assert "SymbolInfoInteger(c.symbol,SYMBOL_TRADE_EXEMODE)==SYMBOL_TRADE_EXECUTION_MARKET" in do_open
    assert "market ? 0.0 : sl,market ? 0.0 : tp" in do_open
    assert "Mt4SetStops(ticket,sl,tp,r)" in do_open
    assert "OrderModify(ticket,OrderOpenPrice(),sl,tp,0,clrNONE)" in body(EXEC_MT4, "void MtbExecutor::Mt4SetStops(")


def test_pending_time_is_the_trade_servers_clock_and_closes_match_volume():
    # one "now" for both EAs (Util.mqh's MtbTradeUtcMs); no clock of the executor's own
    executor = strip_code(EXECUTOR) + strip_code(EXEC_MT5) + strip_code(EXEC_MT4)
    assert "TimeCurrent()" not in executor and "MtbServerNowMs" not in executor
    assert "MtbUtcMs(MtbTradeUtcMs" not in executor and "MtbTradeUtcMs()" in executor
    assert "e.at_ms=MtbTradeUtcMs();" in body(EXECUTOR, "bool MtbExecutor::Handle(")
    assert "FindCloseSince(e.ticket,e.at_ms,e.volume,r)" in body(EXECUTOR, "bool MtbExecutor::Recover(")
    for text in (EXEC_MT5, EXEC_MT4):
        assert "MtbSameVolume(symbol," in body(text, "bool MtbExecutor::FindCloseSince(")
    mt5 = body(EXEC_MT5, "bool MtbExecutor::FindCloseSince(")
    assert "DEAL_REASON_SL" in mt5 and "DEAL_REASON_TP" in mt5 and "DEAL_REASON_SO" in mt5
    # MT4 walks the partial-close chain itself instead of the reporter's cache
    mt4 = body(EXEC_MT4, "bool MtbExecutor::FindCloseSince(")
    assert "MtbMt4Remainder(comment)" in mt4 and "LiveTicket" not in mt4 and "MTB_CHAIN_MAX" in mt4


def test_history_pass_is_bounded():
    for text in (EXEC_MT5, EXEC_MT4, EXECUTOR):
        assert not re.search(r"HistorySelect\(0,", strip_code(text))
    opened = body(EXECUTOR, "bool MtbExecutor::FindOpened(")
    assert "MtbServerTime(e.at_ms)-MTB_HISTORY_BACK_S" in opened and "MTB_LOST_JOURNAL_DAYS" in opened
    assert "m_journal.Intact()" in opened
    assert "if(from<=0)" in body(EXEC_MT5, "bool MtbExecutor::FindTagged(")


# ---------------------------------------------------------------- stores (rows 9, 24)


def test_compaction_writes_a_tmp_file_then_moves_it():
    compact = body(JOURNAL, "bool MtbJournal::Compact(")
    assert 'string tmp=m_file+".tmp";' in compact
    assert compact.index("FileOpen(tmp,FILE_WRITE|FILE_BIN)") < compact.index("FileMove(tmp,0,m_file,FILE_REWRITE)")
    assert "FileOpen(m_file,FILE_WRITE" not in strip_code(JOURNAL), "never truncate the journal in place"


def test_journal_record_header_counts_its_fields():
    encode = body(JOURNAL, "bool MtbJournal::Encode(")
    header = int(re.search(r"w\.MapHeader\((\d+)\);", encode).group(1))
    keys = re.findall(r'w\.Str\("(\w+)"\);\s*w\.', encode)
    assert header == len(keys) == len(set(keys))
    decode = body(JOURNAL, "bool MtbJournal::Decode(")
    assert all(f'"{k}"' in decode for k in keys)
    # fields added later are optional, so older journals still load
    for k in ("symbol", "side", "cvolume"):
        assert f'if(doc.MapFind(0,"{k}")>=0)' in decode


def test_key_store_names_fit_a_global_variable():
    prefix = re.search(r'#define MTB_KEY_GLOBAL\s+"([^"]+)"', JOURNAL).group(1)
    longest = len(prefix) + len(str(2**64 - 1)) + 1 + 16
    assert longest <= 63  # MQL: "A global variable name should not exceed 63 characters"
    hash_fn = body(JOURNAL, "string MtbKeyHash(")
    a, b = map(int, re.search(r"\(ulong\)(\d+)\*10\+(\d+);", hash_fn).groups())
    assert a * 10 + b == 14695981039346656037 and a < 2**63  # FNV-1a 64 offset basis from long literals
    assert "h*=(ulong)1099511628211;" in hash_fn  # FNV 64 prime
    put = body(JOURNAL, "bool MtbKeyStore::Put(")
    assert "GlobalVariablesFlush();" in put
    assert "m_keys.Put(e.key,r.ticket);" in body(EXECUTOR, "bool MtbExecutor::Finish(")


def test_untagged_fallback_never_takes_another_keys_ticket():
    for text in (EXEC_MT5, EXEC_MT4):
        assert "m_journal.TicketClaimed(" in body(text, "bool MtbExecutor::FindUntagged(")


# ---------------------------------------------------------------- heartbeat between commands (row 22)


def test_timer_heartbeats_between_commands_and_bounds_the_batch():
    timer = body(INVESTOR, "void OnTimer()")
    start = timer.index("for(int guard=0;")
    head, loop = timer[start : timer.index("{", start)], body(timer, "for(int guard=0;")
    assert "(GetTickCount()-started)<MTB_BATCH_MS" in head
    assert re.search(r"Execute\(m\);\s*g_link\.Tick\(\);", loop)
    assert re.search(r"#define MTB_BATCH_MS\s+(\d+)", INVESTOR)
