"""The back-office API (bridge/daemon/admin.py): table, parsing, running on a real DaemonCore,
golden vectors and the doc's op reference, fuzz."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from decimal import Decimal
from pathlib import Path

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copytrading import events as ev
from bridge.daemon import admin, wire
from bridge.domain.errors import DomainError
from bridge.domain.sizing import VolumeMode

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("admin_vector_generator", ROOT / "tests/vectors/generate_admin.py")
gen = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(gen)  # type: ignore[union-attr]

VECTORS = json.loads(gen.OUT.read_text(encoding="utf-8"))
T0 = gen.T0
EVENT_OPS = [op for op in admin.OPS.values() if op.event is not None]


def req(op: str, rid: object = 1, **args: object) -> dict:
    return {"id": rid, "op": op, "args": args}


# --- the table matches the engine --------------------------------------------------------------
@pytest.mark.parametrize("op", EVENT_OPS, ids=lambda o: o.name)
def test_event_op_arguments_are_the_event_fields(op: admin.Op) -> None:
    fields = {f.name: f for f in dataclasses.fields(op.event) if f.name != "now"}
    assert [a.name for a in op.args] == list(fields)
    for a in op.args:
        f = fields[a.name]
        has_default = f.default is not dataclasses.MISSING
        assert a.required is not has_default, a.name  # optional exactly where the event has a default
        if has_default:
            assert a.default == f.default, a.name


def test_the_table_is_well_formed() -> None:
    assert list(admin.OPS) == ["deposit", "withdraw", "transfer", "register_trader", "set_commission",
                               "cap_commission", "disable_trader", "register_partner", "set_rebate", "assign_client",
                               "subscribe", "edit", "change_investment", "resume", "suspend", "close_copy",
                               "close_copies", "stop", "price",
                               "balance_result", "status", "copies", "list_traders", "list_subscriptions",
                               "wallet", "ping", "set_copy_settings", "get_copy_settings"]
    for op in admin.OPS.values():
        assert op.doc and op.reply and all(a.doc for a in op.args) and all(f.doc for f in op.reply)
        assert len({a.name for a in op.args}) == len(op.args)
        assert set(op.errors) <= set(admin.ERRORS)
        for a in op.args:
            assert a.type in ("uint", "int", "text", "decimal", "bool", "enum")
            if not a.required and a.default is not ev.UNSET and a.default is not None:
                assert not isinstance(admin.convert(a, _wire(a.default)), admin._Bad), a.name
        assert (op.event is None) == (op.name in admin._QUERIES), op.name


def _wire(value: object) -> object:
    return value.value if isinstance(value, VolumeMode) else value


def test_refusal_codes_cover_what_the_engine_records() -> None:
    # Every literal `_refuse("op", "code", ...)` in the engine is listed under its op.
    src = (ROOT / "bridge/copytrading/engine.py").read_text(encoding="utf-8")
    found = set(re.findall(r'_refuse\("(\w+)", "(\w+)"', src))
    found |= {("subscribe", code) for code in re.findall(r'_refuse\(req, "(\w+)"', src)}
    for op, code in sorted(found):
        if op in admin.OPS:
            assert code in admin.OPS[op].refusals, (op, code)


# --- parsing ------------------------------------------------------------------------------
def test_parse_converts_exactly_and_fills_defaults() -> None:
    r = admin.parse_request(req("subscribe", investor="I", trader="T", account=7, amount=0.1))
    assert isinstance(r, admin.AdminRequest)
    e = r.event(T0)
    assert e == ev.Subscribe(T0, "I", "T", 7, Decimal("0.1"))  # float via repr: exactly 0.1
    assert wire.event_from("Subscribe", wire.event_body(e)) == e  # journals and replays as it was
    r = admin.parse_request(req("edit", subscription=3, requester="I"))
    e = r.event(T0)  # type: ignore[union-attr]
    assert e.mode is ev.UNSET and e.protection_pct is ev.UNSET
    assert wire.event_from("EditSettings", wire.event_body(e)) == e
    r = admin.parse_request({"op": "status"})
    assert isinstance(r, admin.AdminRequest) and r.id is None and r.args == {}


@pytest.mark.parametrize("request_, error, field, detail", [
    ("x", "bad_request", "", "expected a map {id, op, args}, got text"),
    ({"id": [1], "op": "status"}, "bad_request", "id", "id: must be nil, a whole number or text"),
    ({"id": "x" * 65, "op": "status"}, "bad_request", "id", "got \"xxx"),
    ({1: 2, "op": "status"}, "bad_request", "", "unknown field 1"),
    ({"op": 5}, "bad_request", "op", "op: must be text, got 5"),
    ({"op": "status", "args": "a"}, "bad_request", "args", "args: must be a map, got text"),
    ({"op": "Status"}, "unknown_op", "op", "unknown op \"Status\" (known: deposit, withdraw,"),
    (req("deposit", owner="I", amount="1", x=1, y=2), "bad_args", "args",
     "deposit: unknown argument \"x\", \"y\" (known: owner, amount)"),
    (req("status", now=1), "bad_args", "args", "status: unknown argument \"now\" (known: none)"),
    ({"op": "status", "args": {str(i): i for i in range(40)}}, "bad_args", "args", "args: at most 32 entries"),
    (req("register_trader", trader="T", account=1), "bad_args", "args.account_type", "args.account_type: required"),
    (req("deposit", owner="I", amount="abc"), "bad_args", "args.amount",
     'args.amount: must be a decimal string or number > 0 and < 10^15 with at most 10 decimal places, got "abc"'),
    (req("deposit", owner="I", amount="1_000"), "bad_args", "args.amount", 'got "1_000"'),
    (req("deposit", owner="I", amount=" 1"), "bad_args", "args.amount", 'got " 1"'),
    (req("deposit", owner="I", amount=float("nan")), "bad_args", "args.amount", "got nan"),
    (req("deposit", owner="I", amount=True), "bad_args", "args.amount", "got true"),
    (req("deposit", owner="I", amount="-1"), "bad_args", "args.amount", "> 0"),
    (req("deposit", owner="I", amount="1e15"), "bad_args", "args.amount", "(at most 15 digits before the point)"),
    (req("deposit", owner="I", amount="0.00000000001"), "bad_args", "args.amount",
     "(11 decimal places, at most 10)"),
    (req("set_commission", trader="T", commission_pct="-0.01"), "bad_args", "args.commission_pct", ">= 0"),
    (req("deposit", owner="", amount="1"), "bad_args", "args.owner", "text of 1..64 characters, got \"\""),
    (req("deposit", owner=b"I", amount="1"), "bad_args", "args.owner", "got binary"),
    (req("register_trader", trader="T", account=-1, account_type="a", leverage=1, commission_pct=0),
     "bad_args", "args.account", "a whole number >= 0 and <= 2^63-1, got -1"),
    (req("register_trader", trader="T", account=2**63, account_type="a", leverage=1, commission_pct=0),
     "bad_args", "args.account", "got 9223372036854775808"),
    (req("register_trader", trader="T", account=1, account_type="a", leverage=0, commission_pct=0),
     "bad_args", "args.leverage", "a whole number >= 1"),
    (req("register_trader", trader="T", account=1.0, account_type="a", leverage=1, commission_pct=0),
     "bad_args", "args.account", "got 1.0"),
    (req("stop", subscription=1, requester="I", close_open=1), "bad_args", "args.close_open", "true or false, got 1"),
    (req("subscribe", investor="I", trader="T", account=1, amount=1, mode="EQUAL"), "bad_args", "args.mode",
     "one of equal | proportional, got \"EQUAL\""),
    (req("cap_commission", trader="T"), "bad_args", "args.cap_pct", "required (a decimal string or number >= 0 and <= 100 with at most 10 decimal places, or nil)"),
    (req("balance_result", key="k", retcode=2**63), "bad_args", "args.retcode", "between -2^31 and 2^32-1"),
    (req("register_trader", trader="T", account=1, account_type="a", leverage=10**6 + 1, commission_pct=0),
     "bad_args", "args.leverage", "a whole number >= 1 and <= 1000000, got 1000001"),
    (req("set_commission", trader="T", commission_pct="100.5"), "bad_args", "args.commission_pct", "<= 100"),
    (req("price", symbol="EURUSD", bid="1e13", ask=1), "bad_args", "args.bid", "> 0 and <= 1e12"),
    (req("balance_result", key="k", message="m" * 1001), "bad_args", "args.message", "text of 0..1000"),
])  # fmt: skip
def test_every_error_names_the_field_and_the_rule(request_: object, error: str, field: str, detail: str) -> None:
    err = admin.parse_request(request_)
    assert isinstance(err, admin.AdminError)
    assert (err.error, err.field) == (error, field)
    assert detail in err.detail
    reply = admin.error_reply(err)
    assert reply["ok"] is False and reply["error"] == error and reply["id"] == err.id


def test_nullable_and_empty_where_the_table_says() -> None:
    assert isinstance(admin.parse_request(req("cap_commission", trader="T", cap_pct=None)), admin.AdminRequest)
    assert isinstance(admin.parse_request(req("stop", subscription=1, requester=None)), admin.AdminRequest)
    assert isinstance(admin.parse_request(req("balance_result", key="k", ok=False, message="")), admin.AdminRequest)
    assert isinstance(admin.parse_request(req("deposit", owner="I", amount=None)), admin.AdminError)


def test_first_problem_wins_in_a_fixed_order() -> None:
    # Unknown names before missing ones before bad values, whatever the map's order.
    bad = {"amount": "abc", "x": 1}
    assert admin.parse_request(req("deposit", **bad)).field == "args"  # type: ignore[union-attr]
    assert admin.parse_request(req("deposit", amount="abc")).field == "args.owner"  # type: ignore[union-attr]
    assert admin.parse_request(req("deposit", amount="abc", owner="")).field == "args.owner"  # type: ignore[union-attr]


# --- frames: the terminal socket's size limit ------------------------------------------------
def _frame_of(size: int) -> bytes:
    return next(f for n in range(size) if len(f := msgpack.packb(req("deposit", owner="I" * n, amount="1"))) == size)


def test_frame_limit_is_the_configs() -> None:
    limit = gen.new_core(max_frame_size=1024).config.max_frame_size
    assert isinstance(admin.decode_frame(_frame_of(1024), limit), dict)
    err = admin.decode_frame(_frame_of(1025), limit)
    assert err == admin.AdminError(None, "frame_too_large", "frame of 1025 bytes > limit 1024")


def test_decode_limits_and_garbage() -> None:
    assert admin.decode_frame(b"", 1024).error == "not_msgpack"  # type: ignore[union-attr]
    deep = b"\x91" * 5000 + b"\x00"
    assert admin.decode_frame(deep, 10_000).error in ("not_msgpack", "limit_exceeded")  # type: ignore[union-attr]
    big_map = msgpack.packb({"op": "status", "args": {str(i): 0 for i in range(65)}})
    assert admin.decode_frame(big_map, 10_000).error == "limit_exceeded"  # type: ignore[union-attr]
    assert admin.decode_frame(b"\xa2\xff\xfe", 1024).error == "not_msgpack"  # type: ignore[union-attr]


# --- running on a real DaemonCore -----------------------------------------------------------------
def test_every_op_has_a_happy_vector_with_the_tables_reply_fields() -> None:
    by_name = {v["name"]: v for v in VECTORS}
    for op in admin.OPS.values():
        v = by_name[op.name]
        assert v["op"] == op.name and v["reply"]["ok"] is True, op.name
        assert list(v["reply"]) == ["id", "ok", *(f.name for f in op.reply)], op.name
        if "refused" in v["reply"]:
            assert v["reply"]["refused"] is None


def test_every_error_code_but_refused_has_a_vector() -> None:
    codes = {v["reply"].get("error") for v in VECTORS} - {None}
    assert codes == set(admin.ERRORS) - {"refused"}


def test_runner_matches_the_current_on_admin() -> None:
    # The same session through DaemonCore.on_admin (today) and admin.handle: the same engine
    # records and journal, so wiring the runner in changes nothing but the errors.
    ops = [v["value"] for v in VECTORS[:9] if v["op"] not in ("balance_result",)]
    old, new = gen.new_core(), gen.new_core()
    for i, request in enumerate(ops):
        now = T0 + 1000 * i
        before = old.on_admin(request, None, now)
        after = gen.call(new, msgpack.packb(request), now)
        assert before["ok"] and after["ok"]
        assert before["records"] == after["records"]
    assert old.take_batch().events == new.take_batch().events
    assert old.status() == new.status()


_NAMES = [v["name"] for v in VECTORS]


def test_balance_result_refused_by_the_back_office() -> None:
    core = gen.new_core()
    for request in (v["value"] for v in VECTORS[:_NAMES.index("subscribe") + 1]):  # up to the first invest
        assert gen.call(core, msgpack.packb(request), T0)["ok"]
    (key,) = [k for k, p in core.pending.items() if p.row.type == "balance"]
    reply = gen.call(core, msgpack.packb(req("balance_result", key=key, ok=False, retcode=7, message="no")), T0)
    assert reply["ok"] is True
    (rec,) = reply["records"]
    assert rec["topic"] == "record.refused" and rec["code"] == "server_refused" and rec["request"] == "balance_operation"
    again = gen.call(core, msgpack.packb(req("balance_result", key=key)), T0)
    assert (again["ok"], again["error"], again["field"]) == (False, "unknown_key", "args.key")


def test_confirm_mode_books_the_invest_in_the_same_reply() -> None:
    core = gen.new_core(balance_operations="confirm")
    for request in (v["value"] for v in VECTORS[:_NAMES.index("subscribe") + 1]):
        assert gen.call(core, msgpack.packb(request), T0)["ok"]
    assert core.status()["pending_commands"] == 0
    assert gen.call(core, msgpack.packb({"op": "copies"}), T0) == {"id": None, "ok": True, "copies": {"1": {}}}


class _Raising:
    def feed_engine(self, event: object) -> list:
        raise DomainError("no_rate", "no rate to convert GBP to USD (need GBPUSD or USDGBP)")

    def balance_result(self, key: str, ok: bool, retcode: int, message: str) -> list | None:
        raise AssertionError("not called")

    def status(self) -> dict:
        return {}

    def copy_map(self) -> dict:
        return {}


def test_an_engine_error_is_refused_with_its_code() -> None:
    reply = admin.handle(req("price", 12, symbol="EURGBP", bid="0.85", ask="0.86"), _Raising(), T0)
    assert reply == {"id": 12, "ok": False, "error": "refused",
                     "detail": "no rate to convert GBP to USD (need GBPUSD or USDGBP)", "code": "no_rate"}


def test_forbidden_and_peek_never_trust_the_request() -> None:
    assert admin.forbidden({"id": 5, "op": "status"}) == {"id": 5, "ok": False, "error": "forbidden",
                                                         "detail": "admin role required"}
    assert admin.forbidden([1])["id"] is None and admin.peek({"id": 1.5, "op": "x" * 99}) == (None, "x" * 32)


# --- golden vectors and the doc ----------------------------------------------------------------
def test_vector_file_and_doc_match_the_generator() -> None:
    vectors = gen.build()
    assert json.dumps(vectors, indent=1, ensure_ascii=False) + "\n" == gen.OUT.read_text(encoding="utf-8")
    doc = gen.DOC.read_text(encoding="utf-8")
    assert gen.render_doc(doc, vectors) == doc


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_hex_decodes_to_its_value(vector: dict) -> None:
    frame = bytes.fromhex(vector["hex"])
    if vector["value"] is not None:
        assert msgpack.unpackb(frame, raw=False) == vector["value"]
        assert msgpack.packb(vector["value"], use_bin_type=True) == frame
    assert msgpack.unpackb(msgpack.packb(vector["reply"]), raw=False) == vector["reply"]


def _section_14(doc: str) -> str:
    return doc[doc.index("## 14. Back-office (admin) API"):]


def test_doc_lists_every_op_and_argument_and_nothing_else() -> None:
    doc = _section_14(gen.DOC.read_text(encoding="utf-8"))
    ops = re.split(r"^#### `(\w+)`$", doc, flags=re.M)
    documented = dict(zip(ops[1::2], ops[2::2]))
    assert list(documented) == list(admin.OPS)
    for name, text in documented.items():
        table = text.split("| argument | type | required | meaning |")
        args = re.findall(r"^\| `(\w+)` \|", table[1].split("\n\n")[0], flags=re.M) if len(table) > 1 else []
        assert args == [a.name for a in admin.OPS[name].args], name
    for code in admin.ERRORS:
        assert f"| `{code}` |" in doc


# --- fuzz: never an exception, always a reply ------------------------------------------------------
_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
                     st.floats(allow_nan=True), st.text(max_size=80), st.binary(max_size=8),
                     st.sampled_from(["", "1", "0.01", "-5", "1e3", "abc", "equal", "I1", "T1"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
                       max_leaves=12)


def _assert_reply(reply: dict) -> None:
    assert isinstance(reply, dict) and isinstance(reply["ok"], bool) and "id" in reply
    if not reply["ok"]:
        assert reply["error"] in admin.ERRORS and isinstance(reply["detail"], str)
    msgpack.packb(reply, use_bin_type=True)  # no default=: every reply value is plain msgpack


@settings(max_examples=300, deadline=None)
@given(st.one_of(_values, st.dictionaries(st.sampled_from(["id", "op", "args", "x"]), _values, max_size=4)))
def test_fuzz_arbitrary_values(request: object) -> None:
    _assert_reply(admin.handle(request, _Raising(), T0))


def _near_valid() -> st.SearchStrategy:
    def for_op(op: admin.Op) -> st.SearchStrategy:
        def value(a: admin.Arg) -> st.SearchStrategy:
            good = {"uint": st.integers(0, 2**63 - 1), "int": st.integers(-(2**63), 2**63 - 1),
                    "text": st.text(min_size=1, max_size=a.max_len), "bool": st.booleans(),
                    "enum": st.sampled_from(a.choices or ("x",)),
                    "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                           min_value=-10**6, max_value=10**6).map(str)}[a.type]
            likely = {"uint": [1, 2, 100, 1001, 2001], "text": ["I1", "T1", "ib-7", "EURUSD", "mt4_standard"],
                      "decimal": ["1000", "0.5", 30, 1.1]}.get(a.type)
            small = st.sampled_from(likely) if likely else good
            return st.one_of(small, small, good, _scalars)  # mostly valid: reach the engine
        args = st.fixed_dictionaries({a.name: value(a) for a in op.args if a.required},
                                     optional={a.name: value(a) for a in op.args if not a.required})
        return st.builds(lambda rid, args: {"id": rid, "op": op.name, "args": args}, st.integers(0, 99), args)
    return st.one_of([for_op(op) for op in admin.OPS.values()])


_CORE = gen.new_core()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_near_valid())
def test_fuzz_near_valid_requests_on_a_real_core(request: dict) -> None:
    reply = gen.call(_CORE, msgpack.packb(request, use_bin_type=True), T0)
    _assert_reply(reply)
    assert reply["id"] == request["id"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_frames(frame: bytes) -> None:
    _assert_reply(admin.handle(admin.decode_frame(frame, 100), _Raising(), T0))


# --- the client checks against the same table --------------------------------------------------
def test_admin_client_refuses_bad_args_before_sending() -> None:
    from bridge.daemon.client import AdminArgsError, AdminClient

    c = AdminClient("inproc://mtbridge-admin-test-nobody")
    try:
        with pytest.raises(AdminArgsError, match=r'bad_args: args.amount: must be a decimal .* got "abc"'):
            c("deposit", owner="I", amount="abc")
        with pytest.raises(AdminArgsError, match="unknown_op"):
            c("deposti")
        with pytest.raises(TimeoutError):  # a Decimal passes the check (as exact text) and is sent
            c("deposit", timeout=0.2, owner="I", amount=Decimal("1.50"))
    finally:
        c.close()


def test_replies_stay_small_whatever_the_request() -> None:
    # Echoes of bad values are cut: a large request never makes a large reply.
    big = "k" * 5000
    for request in ({big: 1, "op": "status"}, req("deposit", **{big + str(i): 1 for i in range(30)}),
                    req("deposit", owner=big, amount=big), {"op": big}):
        assert len(msgpack.packb(admin.handle(request, _Raising(), T0))) < 600


def test_every_op_does_its_job_on_a_real_core() -> None:
    core = gen.new_core()
    engine = core.engine
    by_name = {v["name"]: v["value"] for v in VECTORS}

    def do(name: str, **override: object) -> dict:
        request = by_name[name] if not override else {**by_name[name], "args": {**by_name[name]["args"], **override}}
        reply = gen.call(core, msgpack.packb(request), T0)
        assert reply["ok"] and reply.get("refused") is None, reply
        return reply

    do("register_trader")
    assert engine.traders["T1"].account == 1001
    do("register_partner")
    assert engine.s.partners.partners["ib-7"].trader_rate_per_lot == Decimal("2.5")
    do("set_rebate")
    assert engine.s.partners.partners["ib-7"].rebate_pct == Decimal(25)
    do("assign_client")
    assert engine.s.partners.clients == {"I1": "ib-7"}
    do("deposit")
    do("withdraw")
    assert engine.wallets.balance("I1") == Decimal("4500")
    do("set_commission")
    do("cap_commission")
    assert (engine.traders["T1"].commission_pct, engine.traders["T1"].cap_pct) == (Decimal(25), Decimal(15))
    sub_id = do("subscribe")["records"][-1]["subscription"]
    sub = engine.subscriptions[sub_id]
    assert (sub.mode, sub.protection_pct, sub.account) == (VolumeMode.PROPORTIONAL, Decimal(30), 2001)
    (key,) = [k for k, p in core.pending.items() if p.row.type == "balance"]
    do("balance_result", key=key)
    assert key not in core.pending
    do("edit", mode="equal")
    assert (sub.mode, sub.protection_pct) == (VolumeMode.EQUAL, None)
    do("resume")
    invested, wallet = sub.invested, engine.wallets.balance("I1")
    do("change_investment")  # + 250.00 from the wallet
    assert (sub.invested - invested, wallet - engine.wallets.balance("I1")) == (Decimal(250), Decimal(250))
    do("change_investment", amount="-100.00")
    assert sub.invested - invested == Decimal(150)
    do("price")
    assert engine.s.prices["EURUSD"] == (Decimal("1.0853"), Decimal("1.0855"))
    assert do("status")["subscriptions"][str(sub_id)]["state"] == "active"
    assert do("copies")["copies"] == {str(sub_id): {}}
    do("stop")
    assert sub.state.value == "stopped"


# --- every numeric argument against huge, tiny and signalling values (issue 12 item 8) -----------
def _valid(a: admin.Arg) -> object:
    """A value of `a` that passes its rule (the table's own bounds, not a hard-coded answer)."""
    return {"uint": max(a.low, 1), "int": 0, "text": "x", "decimal": "1", "bool": True}.get(
        a.type, a.choices[0] if a.choices else None)


NUMERIC_ARGS = [(op, a) for op in admin.OPS.values() for a in op.args if a.type in ("uint", "int", "decimal")]
HOSTILE = [("huge", 10**30), ("2^64", 2**64), ("2^63", 2**63), ("-2^63-1", -(2**63) - 1), ("-1", -1),
           ("1e308", 1e308), ("-1e308", -1e308), ("5e-324", 5e-324), ("tiny text", "1e-400"), ("nan", float("nan")),
           ("inf", float("inf")), ("-inf", float("-inf")), ("NaN text", "NaN"), ("sNaN text", "sNaN"),
           ("Infinity text", "Infinity"), ("1e400 text", "1e400"), ("-0 text", "-0"), ("-0.0", -0.0),
           ("true", True), ("false", False), ("0.1", 0.1), ("list", [1]), ("1e15 text", "1e15")]
ARG_CASES = [(op, a, name, value) for op, a in NUMERIC_ARGS for name, value in HOSTILE]


def _inside(a: admin.Arg, value: object) -> bool:
    """Is `value` an acceptable value of `a` by the table's stated rule?"""
    if a.type in ("uint", "int"):
        return type(value) is int and a.low <= value <= a.high
    if type(value) is bool or not isinstance(value, (int, float, str)):
        return False
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9.]+(?:[eE][-+]?[0-9]+)?", value):
        return False
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        return False
    if not d.is_finite() or (d and (-d.as_tuple().exponent > admin.DEC_PLACES or d.adjusted() >= admin.DEC_INT_DIGITS)):
        return False
    low_ok = a.minimum is None or (d > a.minimum if a.above else d >= a.minimum)
    return low_ok and (a.maximum is None or d <= a.maximum)


@pytest.mark.parametrize(("op", "arg", "name", "value"), ARG_CASES,
                         ids=[f"{o.name}.{a.name}={n}" for o, a, n, _ in ARG_CASES])
def test_every_numeric_argument_states_its_bound_and_refuses_what_breaks_it(op, arg, name, value) -> None:
    args = {a.name: _valid(a) for a in op.args if a.required}
    args[arg.name] = value
    parsed = admin.parse_request(req(op.name, **args))
    if _inside(arg, value):
        assert isinstance(parsed, admin.AdminRequest), parsed
        got = parsed.args[arg.name]
        assert got == (Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
                       if arg.type == "decimal" else value)
        assert not (isinstance(got, Decimal) and got.is_signed() and not got)  # never a "-0"
        return
    assert isinstance(parsed, admin.AdminError), f"{op.name}.{arg.name}={value!r} accepted"
    assert (parsed.error, parsed.field) == ("bad_args", f"args.{arg.name}")
    assert arg.rule() in parsed.detail and "\n" not in parsed.detail and len(parsed.detail) < 300


def test_the_argument_sweep_covers_every_numeric_argument_of_every_op() -> None:
    names = {(o.name, a.name) for o, a in NUMERIC_ARGS}
    assert ("price", "bid") in names and ("balance_result", "retcode") in names and ("subscribe", "leverage") in names
    for _, a in NUMERIC_ARGS:  # every numeric argument states both ends
        assert (" and <= " in a.rule() or " and < 10^" in a.rule() or " between " in a.rule()), a.rule()


@pytest.mark.parametrize(("name", "value"), [("huge", "1e400"), ("sNaN", "sNaN"), ("2^64-1", 2**64 - 1), ("nan", float("nan")),
                                             ("tiny", 5e-324), ("bool", True)])
def test_a_refused_argument_changes_nothing_on_a_real_core(name: str, value: object) -> None:
    core = gen.new_core()
    before = (core.engine.to_bytes(), core.seq)
    for request in (req("deposit", owner="I", amount=value), req("price", symbol="EURUSD", bid=value, ask="1.1"),
                    req("subscribe", investor="I", trader="T", account=7, amount="10", leverage=value),
                    req("balance_result", key="k", retcode=value)):
        reply = gen.call(core, msgpack.packb(request), T0)  # 2^64-1: msgpack's largest int, above every bound
        assert reply["ok"] is False and reply["field"].startswith("args."), reply
    assert (core.engine.to_bytes(), core.seq) == before and not core.take_batch().events


# --- dealer actions (issue 13 §2): the actor is journaled with the event and in its record --------
def test_dealer_ops_journal_the_actor_and_answer_with_the_audit_record() -> None:
    """Issue 13 §2: "Dealer actions with confirmation, permission checks, CSRF protection and an
    audit trail in the journal: stop copying, suspend and resume a subscription, close one copy,
    close all copies of a subscription, disable a trader.\""""
    core = gen.new_core()
    by_name = {v["name"]: v["value"] for v in VECTORS}
    for name in ("register_trader", "deposit", "subscribe"):
        assert gen.call(core, msgpack.packb(by_name[name]), T0)["ok"]
    for op, args, refused in (
            ("suspend", {"subscription": 1, "actor": "dana"}, None),
            ("suspend", {"subscription": 1, "actor": "dana"}, "already_suspended"),
            ("resume", {"subscription": 1, "requester": "I1"}, "suspended_by_desk"),
            ("resume", {"subscription": 1, "requester": None, "actor": "erik"}, None),
            ("close_copy", {"subscription": 1, "trader_ticket": 9, "actor": "dana"}, "unknown_copy"),
            ("close_copies", {"subscription": 1, "actor": "dana"}, "no_open_copies"),
            ("disable_trader", {"trader": "T1", "actor": "dana"}, None),
            ("stop", {"subscription": 1, "requester": None, "actor": "dana"}, None)):
        before = len(core._batch.events)
        reply = gen.call(core, msgpack.packb(req(op, **args)), T0)
        assert reply["ok"] and (reply["refused"] or {}).get("code") == refused, reply
        audit = [r for r in reply["records"] if r["topic"] == "record.dealer_action"]
        actor = args.get("actor")
        if actor is None:
            assert audit == []
            continue
        assert [(a["action"], a["actor"], a["refused"]) for a in audit] == [(op, actor, refused)]
        (_, _, type_name, body), = core._batch.events[before:]
        event = wire.event_from(type_name, body)
        assert type(event) is admin.OPS[op].event and event.actor == actor  # type: ignore[attr-defined]
