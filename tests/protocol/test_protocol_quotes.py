"""Issue 12 item 1.3: "document where the daemon gets conversion rates (and make sure it does get
them in the normal flow ...)": terminals report them in `quotes`, the daemon asks for them in
`welcome.quote_symbols`. The wire side: bounded arrays, optional-and-left-out-when-empty."""

from __future__ import annotations

from decimal import Decimal

from protocol_samples import pack, sample

from bridge.protocol import MAX_QUOTES, ProtocolError, Quote, Quotes, Welcome, decode, encode
from bridge.protocol.schema import Direction

D = Decimal


def _quote(i: int = 0) -> dict:
    return {"symbol": f"S{i}", "bid": 1.5, "ask": 1.6, "time": 1_700_000_000_000 + i}


def test_quotes_round_trip_and_go_terminal_to_daemon_only() -> None:
    msg = Quotes(1, 2, 3, 4, (Quote("EURUSD", D("1.085"), D("1.0851"), 5), Quote("USDJPY", D("150.1"), D("150.2"), 6)))
    assert decode(encode(msg), direction=Direction.TO_DAEMON) == msg
    refused = decode(encode(msg), direction=Direction.TO_TERMINAL)
    assert isinstance(refused, ProtocolError) and refused.code == "wrong_direction"


def test_quotes_array_is_bounded_one_to_max_quotes() -> None:
    for count, ok in ((0, False), (1, True), (MAX_QUOTES, True), (MAX_QUOTES + 1, False)):
        result = decode(pack(dict(sample("quotes"), quotes=[_quote(i) for i in range(count)])))
        if ok:
            assert isinstance(result, Quotes) and len(result.quotes) == count
        else:
            assert isinstance(result, ProtocolError), count
            assert (result.code, result.field) == ("out_of_range", "quotes")
            assert "1 .. 32 items" in result.detail


def test_a_bad_quote_map_names_its_path() -> None:
    cases = [({**_quote(), "bid": -1.0}, "negative_value", "quotes[1].bid"),
             ({**_quote(), "symbol": ""}, "empty_string", "quotes[1].symbol"),
             ({k: v for k, v in _quote().items() if k != "time"}, "missing_field", "quotes[1].time"),
             ({**_quote(), "extra": 1}, "extra_field", "quotes[1].extra"),
             ("EURUSD", "wrong_type", "quotes[1]")]
    for bad, code, field in cases:
        result = decode(pack(dict(sample("quotes"), quotes=[_quote(), bad])))
        assert isinstance(result, ProtocolError) and (result.code, result.field) == (code, field), result


def test_welcome_quote_symbols_is_optional_and_left_out_when_empty() -> None:
    plain = Welcome(1, 1, 3, 4, 5, 1000, False)
    assert b"quote_symbols" not in encode(plain)
    assert decode(encode(plain)).quote_symbols == ()
    asked = Welcome(1, 1, 3, 4, 5, 1000, False, 0, ("EURUSD", "USDJPY"))
    assert decode(encode(asked)) == asked
    # an empty array is a valid (non-canonical) form of "none"
    assert decode(pack(dict(sample("welcome"), quote_symbols=[]))).quote_symbols == ()


def test_welcome_quote_symbols_are_bounded_non_empty_strings() -> None:
    too_many = decode(pack(dict(sample("welcome"), quote_symbols=[f"S{i}" for i in range(MAX_QUOTES + 1)])))
    assert isinstance(too_many, ProtocolError) and (too_many.code, too_many.field) == ("out_of_range", "quote_symbols")
    for bad, code in (([""], "empty_string"), ([1], "wrong_type"), ("EURUSD", "wrong_type")):
        result = decode(pack(dict(sample("welcome"), quote_symbols=bad)))
        assert isinstance(result, ProtocolError) and result.code == code, (bad, result)
