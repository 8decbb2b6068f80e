"""Static checks of the trader/link decisions in mql/ (review rows 13-15, 18-21, 25, 26, 29; the
EA half of welcome.last_id). No MetaTrader compiler runs here: each test asserts a decision the
source must keep, read from the source itself (comments and strings stripped first)."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.daemon.config import DaemonConfig
from tests.mql.mqlsource import body, code, strip_code, with_parts

ROOT = Path(__file__).resolve().parents[2]
INC = ROOT / "mql/Include/MtBridge"
TRADER = ROOT / "mql/Experts/MtBridgeTrader.mql"
MINE = [INC / "Util.mqh", INC / "Link.mqh", INC / "Reporter.mqh", INC / "ReporterResend.mqh", INC / "ReporterMt5.mqh",
        INC / "ReporterMt4.mqh", TRADER]  # fmt: skip


def branch(text: str, name: str) -> str:
    """The `#ifdef __MQL5__` (name="MQL5") or `#else` (name="MQL4") part of the file's first platform split."""
    m = re.search(r"#ifdef __MQL5__\n(.*?)#else\n(.*?)#endif", text, re.S)
    return m.group(1) if name == "MQL5" else m.group(2)


# ---------------------------------------------------------------- link (rows 13, 14, 15)

def test_error_is_printed_with_code_field_and_detail_before_any_state_decision():
    receive = body(code(INC / "Link.mqh"), "bool MtbLink::Receive(")
    printed = re.search(r'if\(m\.type==""\)\s*PrintFormat\([^;]*m\.code,m\.field,m\.ref_id,m\.detail\)', receive)
    assert printed, "Receive must print code, field, ref_id and detail of every error"
    assert printed.start() < receive.index("m_state!=MTB_LINK_UP"), "printed before the not-yet-welcomed branch"


def test_sequence_is_checked_before_the_login_filter():
    receive = body(code(INC / "Link.mqh"), "bool MtbLink::Receive(")
    assert receive.index("m.seq!=m_seq_in+1") < receive.index("m.login!=m_login")
    assert receive.index("m_seq_in=m.seq") < receive.index("m.login!=m_login")


def test_refused_hello_and_oversized_hello_back_off_instead_of_spinning():
    link = code(INC / "Link.mqh")
    assert re.search(r"#define MTB_REFUSED_WAIT_MS\s+60000", link.replace('""', ""))
    receive = body(link, "bool MtbLink::Receive(")
    assert re.search(r"!MtbIsSequenceCode\(m\.code\)\)[^}]*Backoff\(MTB_REFUSED_WAIT_MS\)", receive, re.S)
    send = body(link, "bool MtbLink::Send(")
    assert re.search(r"w\.Length\(\)>m_max_frame\)[^}]*Backoff\(MTB_REFUSED_WAIT_MS\)", send, re.S)


def test_frame_limit_is_the_input_and_its_default_is_the_daemons():
    link = code(INC / "Link.mqh")
    # MTB_MAX_FRAME only seeds the member; sockets and buffers use the configured limit
    assert link.count("MTB_MAX_FRAME") == 2
    assert "MTB_ZMQ_MAXMSGSIZE,m_max_frame" in link
    default = int(re.search(r"#define MTB_MAX_FRAME\s+(\d+)", link).group(1))
    assert default == DaemonConfig().max_frame_size
    assert int(re.search(r"#define MTB_MIN_FRAME\s+(\d+)", link).group(1)) == 1024
    trader = TRADER.read_text(encoding="utf-8")
    assert re.search(rf"^input int\s+InpMaxFrameBytes\s*=\s*{default};", trader, re.M)
    on_init = body(code(TRADER), "int OnInit()")
    assert on_init.index("g_link.SetMaxFrame(InpMaxFrameBytes)") < on_init.index("g_link.Init(")


def test_tick_only_heartbeats():
    tick = body(code(INC / "Link.mqh"), "void MtbLink::Tick(")
    assert "Receive" not in tick and "zmq_recv" not in tick
    assert len(re.findall(r"(?<!Can)Send\(", tick)) == 1


# ---------------------------------------------------------------- reporting (rows 18, 19)

def test_mt5_positions_are_keyed_by_identifier():
    mt5 = code(INC / "ReporterMt5.mqh")
    read_live = body(mt5, "bool MtbReporter::ReadLive(")
    assert "out[n].ticket=(ulong)PositionGetInteger(POSITION_IDENTIFIER)" in read_live
    assert "live[n]=ticket" in read_live
    assert "Find((ulong)PositionGetInteger(POSITION_IDENTIFIER))" in body(mt5, "void MtbReporter::CheckStops(")
    util = code(INC / "Util.mqh")
    assert "POSITION_IDENTIFIER)==id" in body(util, "bool MtbSelectPositionById(")
    assert "MtbPositionTicketById(ticket)" in body(code(INC / "Reporter.mqh"), "ulong MtbReporter::LiveTicket(")


def test_mt5_resyncs_only_for_volume_nobody_explained():
    mt5 = code(INC / "ReporterMt5.mqh")
    calls = re.findall(r"Resync\(StringFormat\(\"\"", mt5)
    assert len(calls) == 2 and mt5.count("Resync(") == 2
    assert "now_volume>m_pos[k].p.volume" in body(mt5, "int MtbReporter::OpenDeal(")
    check = body(mt5, "void MtbReporter::CheckPositions(")
    assert re.search(r"list\[i\]\.volume>m_pos\[k\]\.p\.volume\)\s*\{\s*Resync", check)
    # a position missing from the reports is reported opened, a vanished one closed
    assert "ReportOpened(list[i])" in check
    assert "ClosedUnseen(k)" in check
    assert "ReportClosed(" in body(mt5, "void MtbReporter::ClosedUnseen(")


def test_mt5_multi_deal_fill_is_one_open_with_the_whole_volume():
    open_deal = body(code(INC / "ReporterMt5.mqh"), "int MtbReporter::OpenDeal(")
    assert "OrderSelect(order)" in open_deal and "MTB_FILL_WAIT_MS" in open_deal
    assert "volume+=HistoryDealGetDouble(batch[j],DEAL_VOLUME)" in open_deal
    # not selectable yet (DEAL_ADD first) or closed again: described by the deal itself
    for prop in ("DEAL_PRICE", "DEAL_SL", "DEAL_TP", "DEAL_TIME_MSC", "DEAL_COMMENT", "DEAL_MAGIC"):
        assert prop in open_deal


def test_profit_is_net_like_the_python_terminals():
    assert "d.profit + d.swap + d.commission + d.fee" in (ROOT / "simulator/terminals/watch.py").read_text()
    mt5 = body(code(INC / "ReporterMt5.mqh"), "void MtbReporter::CloseDeal(")
    for prop in ("DEAL_PROFIT", "DEAL_SWAP", "DEAL_COMMISSION", "DEAL_FEE"):
        assert prop in mt5
    assert "OrderProfit()+OrderSwap()+OrderCommission()" in code(INC / "ReporterMt4.mqh")


def test_mt4_close_by_remainder_is_looked_for_before_a_full_close():
    chain = body(code(INC / "ReporterMt4.mqh"), "void MtbReporter::FollowChain(")
    assert chain.index("next=CloseByRemainder(") < chain.index("ReportClosed(")
    remainder = body(code(INC / "ReporterMt4.mqh"), "ulong MtbReporter::CloseByRemainder(")
    assert "OrderOpenTime()==opened" in remainder and "OrderSymbol()==symbol" in remainder
    assert "OrderType()==type" in remainder and "MtbMt4Parent(OrderComment())==closed" in remainder


# ---------------------------------------------------------------- welcome.last_id, catch-up

def test_resend_buffer_is_bounded_and_resends_above_last_id_after_welcome():
    rep = strip_code(with_parts(INC / "Reporter.mqh"))  # Reporter.mqh and ReporterResend.mqh
    assert int(re.search(r"#define MTB_RESEND_MAX\s+(\d+)", rep).group(1)) <= 4096
    assert "ArrayResize(m_sent,MTB_RESEND_MAX)" in rep
    assert "m_sent[at].id<=last_id" in body(rep, "void MtbReporter::Resend(")
    catch_up = body(rep, "void MtbReporter::CatchUp(")
    assert catch_up.index("m_link.TakeWelcome(last_id)") < catch_up.index("Resend(last_id)")
    # every report goes through Emit, which records it with its id
    emit = body(rep, "void MtbReporter::Emit(")
    assert emit.index("r.id=env.id") < emit.rindex("Record(r)") < emit.index("m_link.Send(")
    # a report made after the link went down mid-pass is kept unsent, never dropped
    assert re.search(r"if\(!m_link\.IsUp\(\)\)\s*\{[^}]*r\.sent=false;\s*Record\(r\);\s*return;", emit)
    assert "m_sent[at].sent && m_sent[at].id<=last_id" in body(rep, "void MtbReporter::Resend(")
    for path in (INC / "Reporter.mqh", INC / "ReporterResend.mqh", INC / "ReporterMt5.mqh", INC / "ReporterMt4.mqh"):
        assert "MtbBuildPosition" not in code(path).replace(body(rep, "void MtbReporter::Emit("), "")


def test_catch_up_runs_before_any_new_report():
    rep = code(INC / "Reporter.mqh")
    watch = body(rep, "void MtbReporter::Watch(")
    assert watch.index("CatchUp()") < watch.index("Scan()") and watch.index("CatchUp()") < watch.index("Poll()")
    mt5 = code(INC / "ReporterMt5.mqh")
    on_tx = body(mt5, "void MtbReporter::OnTransaction(")
    assert on_tx.index("CatchUp()") < on_tx.index("Scan()") < on_tx.index("CheckStops(")
    assert "Reconcile" not in mt5, "one watch (Watch) for both EAs"
    poll = body(code(INC / "ReporterMt4.mqh"), "void MtbReporter::Poll(")
    assert poll.index("CatchUp()") < poll.index("HistoryCatchUp()") < poll.index("Diff()")


def test_nothing_is_reported_before_the_welcome_and_the_cache_survives_a_reconnect():
    rep = code(INC / "Reporter.mqh")
    watch = body(rep, "void MtbReporter::Watch(")
    assert watch.index("if(!m_link.IsUp())\n      return;") < watch.index("CatchUp()")
    hello = body(rep, "bool MtbReporter::SendHello(")
    assert re.search(r"if\(!m_watching \|\| m_fresh\)\s*\{\s*m_n=0;", hello), "cache reset only on start or resync"
    assert "m_fresh=true" in body(rep, "void MtbReporter::Resync(")


def test_trader_timer_uses_the_one_watch_on_both_platforms():
    on_timer = body(code(TRADER), "void OnTimer()")
    assert "g_reporter.Watch()" in on_timer
    assert "Reconcile" not in on_timer and "Poll" not in on_timer


# ---------------------------------------------------------------- time base (rows 20, 21)

def test_no_stale_server_time_is_used_as_now():
    for path in MINE:
        text = code(path)
        if path.name == "Util.mqh":
            mt4 = branch(text[text.index("long MtbRoundOffsetMs") :], "MQL4")
            text = text.replace(mt4, "")  # MQL4's offset reads TimeCurrent() on purpose, guarded
        assert "TimeCurrent()" not in text, f"{path.name}: TimeCurrent() is the last quote's time"
    util = code(INC / "Util.mqh")
    assert "return(MtbNowMs());" in body(util, "ulong MtbTradeUtcMs(")
    mt5_offset = branch(util[util.index("long MtbRoundOffsetMs") :], "MQL5")
    assert "TimeTradeServer()-TimeGMT()" in mt5_offset
    # MQL4: TimeCurrent() (the last quote) is trusted only when a quote arrived within 2 s
    mt4_offset = branch(util[util.index("long MtbRoundOffsetMs") :], "MQL4")
    assert "quote!=s_quote && (uint)(tick-s_tick)<2000" in mt4_offset
    assert "MtbUtcOffsetMs();" in body(code(INC / "Reporter.mqh"), "void MtbReporter::Watch(")
    # MQL4 has no TimeTradeServer(): the MQL4 branch of every file must not call it
    for path in MINE:
        for m in re.finditer(r"#else\n(.*?)#endif", code(path), re.S):
            assert "TimeTradeServer" not in m.group(1), path.name


def test_every_body_time_is_converted_to_utc():
    for path in (INC / "ReporterMt5.mqh", INC / "ReporterMt4.mqh"):
        text = code(path)
        for m in re.finditer(r"(?:POSITION_TIME_MSC|POSITION_TIME_UPDATE_MSC|DEAL_TIME_MSC|OrderOpenTime\(\)\*1000|"
                             r"OrderCloseTime\(\)\*1000)", text):
            before = text[max(0, m.start() - 60) : m.start()]
            assert "MtbUtcMs(" in before, f"{path.name}: {m.group(0)} not converted"


def test_mt4_whole_seconds_are_refined_only_within_their_second():
    seen = body(code(INC / "Util.mqh"), "ulong MtbSeenTime(")
    assert "now>=utc_ms && now<utc_ms+1000" in seen
    mt4 = code(INC / "ReporterMt4.mqh")
    assert "MtbSeenTime(MtbUtcMs((ulong)OrderCloseTime()*1000))" in body(mt4, "void MtbReporter::FollowChain(")
    assert "p.time=MtbSeenTime(p.time)" in body(mt4, "void MtbReporter::NewTicket(")
    # the hello repeats the time already reported, not a fresh whole second
    assert "out[n].time=m_pos[existing].p.time" in body(mt4, "bool MtbReporter::ReadLive(")
    assert "MtbUtcOffsetMs(),MtbMarginMode())" in body(code(INC / "Reporter.mqh"), "bool MtbReporter::SendHello(")


# ---------------------------------------------------------------- money, role, netting (rows 25, 26)

def _digit_lists() -> dict[int, list[str]]:
    text = (INC / "Util.mqh").read_text(encoding="utf-8")
    fn = text[text.index("int MtbCurrencyDigits") :]
    fn = fn[: fn.index("\n  }\n")]
    out = {}
    for codes, digits in re.findall(r'StringFind\("\|([A-Z|]+)\|",code\)>=0\)\s*return\((\d)\);', fn):
        out[int(digits)] = codes.split("|")
    return out


def test_mt4_currency_digits_table():
    lists = _digit_lists()
    assert set(lists) == {0, 3, 8}
    assert "JPY" in lists[0] and "KWD" in lists[3] and "BTC" in lists[8]
    everything = [c for codes in lists.values() for c in codes]
    assert len(everything) == len(set(everything)), "a currency in two lists"
    assert all(re.fullmatch(r"[A-Z]{3,4}", c) for c in everything)
    assert "USD" not in everything and "EUR" not in everything  # 2 by default
    norm = code(INC / "Util.mqh")
    assert "ACCOUNT_CURRENCY_DIGITS" in branch(norm[norm.index("double MtbNormMoney") :], "MQL5")


def test_trader_runs_on_netting_says_so_and_logs_both_trade_flags():
    on_init = body(code(TRADER), "int OnInit()")
    assert "MtbHedgingAccount(" not in on_init  # issue 15 item 9: a netting trader is copied
    assert "MtbLogTradeFlags(" in on_init
    util = code(INC / "Util.mqh")
    assert "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING" in body(util, "bool MtbHedgingAccount(")
    assert "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING" in body(util, "string MtbMarginMode(")
    mt5 = code(INC / "ReporterMt5.mqh")
    assert "Reverse(deal,pos_id,symbol);" in body(mt5, "int MtbReporter::OnDeal(")  # DEAL_ENTRY_INOUT
    assert "Grow(deal,k,symbol);" in body(mt5, "int MtbReporter::OpenDeal(")  # an addition
    flags = body(util, "void MtbLogTradeFlags(")
    assert "ACCOUNT_TRADE_ALLOWED" in flags and "ACCOUNT_TRADE_EXPERT" in flags
