"""Generate mql/Include/MtBridge/SelfTestVectors.mqh from tests/vectors/protocol_vectors.json.

    .venv/bin/python mql/tools/gen_selftest_vectors.py          # write it
    .venv/bin/python mql/tools/gen_selftest_vectors.py --check  # exit 1 if stale

Deterministic. Each vector becomes its hex string plus an MQL function that rebuilds the
message through the Protocol.mqh builders from literal field values. Doubles are written as
their IEEE-754 bits (MpDoubleFromBits(0x...)), non-ASCII strings as UTF-8 hex, so nothing
depends on how the MQL compiler parses decimal or Unicode literals.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "protocol_vectors.json"
OUTPUTS = [ROOT / "mql" / "Include" / "MtBridge" / "SelfTestVectors.mqh"]

POSITION = ("ticket", "symbol", "side", "volume", "price", "sl", "tp", "time", "magic", "comment", "swap")
OPTIONAL_NUMBERS = {"swap", "stoplimit"}  # absent in a vector = 0.0
ORDER = ("ticket", "symbol", "order_type", "volume", "price", "sl", "tp", "expiration", "time", "stoplimit", "magic")
ORDER_DEFAULTS = {"stoplimit": 0.0, "magic": 0}  # optional: absent in a vector
# builder name and body fields (after the envelope) in call order
BUILDERS = {
    "hello": ("MtbBuildHello", ("role", "platform", "account_type", "currency", "leverage", "balance", "equity", "positions", "utc_offset_ms", "margin_mode")),
    "heartbeat": ("MtbBuildHeartbeat", ()),
    "position_opened": ("MtbBuildPositionOpened", ("@position",)),
    "position_modified": ("MtbBuildPositionModified", ("ticket", "sl", "tp", "time", "swap")),
    "position_closed": ("MtbBuildPositionClosed", ("ticket", "volume", "remaining", "price", "time", "reason", "profit")),
    "account_update": ("MtbBuildAccountUpdate", ("balance", "equity", "margin", "free_margin", "leverage")),
    "command_result": ("MtbBuildCommandResult", ("@result",)),
    "quotes": ("MtbBuildQuotes", ("quotes",)),
    "welcome": ("MtbBuildWelcome", ("server_time", "heartbeat_ms", "resume", "last_id", "quote_symbols")),
    "redirect": ("MtbBuildRedirect", ("shard", "endpoint")),
    "open": ("MtbBuildOpen", ("key", "symbol", "side", "volume", "sl", "tp", "magic", "comment", "expires")),
    "close": ("MtbBuildClose", ("key", "ticket", "volume")),
    "modify": ("MtbBuildModify", ("key", "ticket", "sl", "tp")),
    "error": ("MtbBuildError", ("code", "detail", "ref_id", "field")),
    "order_placed": ("MtbBuildOrderPlaced", ("ticket", "symbol", "order_type", "volume", "price", "sl", "tp", "expiration", "time", "stoplimit", "magic")),
    "order_modified": ("MtbBuildOrderModified", ("ticket", "price", "sl", "tp", "expiration", "time", "stoplimit")),
    "order_removed": ("MtbBuildOrderRemoved", ("ticket", "removal", "time")),
    "order_filled": ("MtbBuildOrderFilled", ("ticket", "position", "symbol", "side", "volume", "price", "sl", "tp", "time", "magic")),
    "place_order": ("MtbBuildPlaceOrder", ("key", "symbol", "order_type", "volume", "price", "sl", "tp", "expiration", "magic", "comment", "stoplimit")),
    "modify_order": ("MtbBuildModifyOrder", ("key", "ticket", "price", "sl", "tp", "expiration", "stoplimit")),
    "cancel_order": ("MtbBuildCancelOrder", ("key", "ticket")),
    "orders_snapshot": ("MtbBuildOrdersSnapshot", ("orders",)),
}
RESULT = ("key", "ok", "retcode", "ticket", "price", "volume", "time", "message")
QUOTE = ("symbol", "bid", "ask", "time")


def lit(value: object) -> str:
    """An MQL expression for a JSON value, exact."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"(long){value}" if value < 0 else f"(ulong){value}"
    if isinstance(value, float):
        bits = struct.unpack(">Q", struct.pack(">d", value))[0]
        return f"MpDoubleFromBits(0x{bits:016x}) /* {value!r} */"
    if isinstance(value, str):
        if value.isascii() and value.isprintable():
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f'MtbVecUtf8("{value.encode("utf-8").hex()}")'
    raise TypeError(f"no MQL literal for {value!r}")


def build_function(index: int, vector: dict) -> list[str]:
    value, mtype = vector["value"], vector["type"]
    builder, fields = BUILDERS[mtype]
    out = [f"//--- vector {index}: {vector['name']}", f"bool MtbVecBuild{index}(MpWriter &w)", "  {",
           "   MtbEnvelope env;"]
    for name in ("id", "seq", "ts", "login"):
        out.append(f"   env.{name}={lit(value[name])};")
    args = ["w", "env"]
    for field in fields:
        if field == "positions":
            out.append("   MtbPosition positions[];")
            out.append(f"   ArrayResize(positions,{len(value['positions'])});")
            for k, pos in enumerate(value["positions"]):
                for name in POSITION:
                    out.append(f"   positions[{k}].{name}={lit(pos.get(name, 0.0))};")
            args.append("positions")
        elif field == "orders":
            out.append("   MtbOrder orders[];")
            out.append(f"   ArrayResize(orders,{len(value['orders'])});")
            for k, order in enumerate(value["orders"]):
                for name in ORDER:
                    out.append(f"   orders[{k}].{name}={lit(order.get(name, ORDER_DEFAULTS.get(name)))};")
            args.append("orders")
        elif field == "quotes":
            out.append("   MtbQuote quotes[];")
            out.append(f"   ArrayResize(quotes,{len(value['quotes'])});")
            for k, quote in enumerate(value["quotes"]):
                out.extend(f"   quotes[{k}].{name}={lit(quote[name])};" for name in QUOTE)
            args.append("quotes")
        elif field == "quote_symbols":  # optional: absent = empty
            symbols = value.get("quote_symbols", [])
            out.append("   string quote_symbols[];")
            out.append(f"   ArrayResize(quote_symbols,{len(symbols)});")
            out.extend(f"   quote_symbols[{k}]={lit(sym)};" for k, sym in enumerate(symbols))
            args.append("quote_symbols")
        elif field == "@position":
            out.append("   MtbPosition p;")
            out.extend(f"   p.{name}={lit(value.get(name, 0.0))};" for name in POSITION)
            args.append("p")
        elif field == "@result":
            out.append("   MtbResult r;")
            out.extend(f"   r.{name}={lit(value[name])};" for name in RESULT)
            args.append("r")
        elif field == "margin_mode":  # optional: absent = hedging
            args.append(lit(value.get("margin_mode", "hedging")))
        else:
            absent = "0.0" if field in OPTIONAL_NUMBERS else "(ulong)0"
            args.append(lit(value[field]) if field in value else absent)   # optional, absent
    out.append(f"   return({builder}({','.join(args)}));")
    out.append("  }")
    return out


def render() -> str:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    lines = [
        "//+------------------------------------------------------------------+",
        "//| MtBridge/SelfTestVectors.mqh - GENERATED by                      |",
        "//| mql/tools/gen_selftest_vectors.py from                           |",
        "//| tests/vectors/protocol_vectors.json. Do not edit by hand.        |",
        "//+------------------------------------------------------------------+",
        "#ifndef MTBRIDGE_SELFTESTVECTORS_MQH",
        "#define MTBRIDGE_SELFTESTVECTORS_MQH",
        "",
        "#ifdef __MQL4__",
        "#property strict",
        "#endif",
        "",
        '#include "Protocol.mqh"',
        "",
        f"#define MTB_VECTOR_COUNT {len(vectors)}",
        "",
        "const string MTB_VECTOR_NAMES[]=",
        "  {",
        ",\n".join(f'   "{v["name"]}"' for v in vectors),
        "  };",
        "const string MTB_VECTOR_TYPES[]=",
        "  {",
        ",\n".join(f'   "{v["type"]}"' for v in vectors),
        "  };",
        "const string MTB_VECTOR_HEX[]=",
        "  {",
        ",\n".join(f'   "{v["hex"]}"' for v in vectors),
        "  };",
        "",
        "//--- a string from its UTF-8 bytes in hex",
        "string MtbVecUtf8(const string hex)",
        "  {",
        "   uchar bytes[];",
        "   int n=MpFromHex(hex,bytes);",
        "   if(n<=0)",
        '      return("");',
        "   return(CharArrayToString(bytes,0,n,CP_UTF8));",
        "  }",
        "",
    ]
    for index, vector in enumerate(vectors):
        lines.extend(build_function(index, vector))
        lines.append("")
    lines.append("//--- build vector k from its field values through the Protocol.mqh builders")
    lines.append("bool MtbVecBuild(const int k,MpWriter &w)")
    lines.append("  {")
    lines.append("   switch(k)")
    lines.append("     {")
    for index in range(len(vectors)):
        lines.append(f"      case {index}: return(MtbVecBuild{index}(w));")
    lines.append("     }")
    lines.append('   w.Fail(StringFormat("no vector %d",k));')
    lines.append("   return(false);")
    lines.append("  }")
    lines.append("")
    lines.append("#endif // MTBRIDGE_SELFTESTVECTORS_MQH")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        stale = [str(p) for p in OUTPUTS if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            print("stale: " + ", ".join(stale))
            return 1
        return 0
    for path in OUTPUTS:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
