"""`mtbridge simulate --trades FILE.csv --chart DIR` and `trades` in `--json`.

Review (docs of issue 13, user 1, item 8): "Deposits, net P/L, return %, drawdown and a trade
list are missing." and "No equity chart."
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

from simulator.report import TRADE_COLUMNS, EquityCurve

ROOT = Path(__file__).resolve().parents[2]
STOP_OUT = ROOT / "examples" / "scenarios" / "stop_out.toml"


def simulate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge.cli", "simulate", "--scenario", str(STOP_OUT), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_trade_list_and_equity_charts_are_written_and_deterministic(tmp_path: Path) -> None:
    runs = []
    for n in (1, 2):
        run = simulate("--until", "3d", "--json", "--trades", str(tmp_path / f"t{n}.csv"),
                       "--chart", str(tmp_path / f"c{n}"))
        assert run.returncode == 0, run.stderr
        runs.append(json.loads(run.stdout))
    summary = runs[0]
    # the CSV: a header, then one row per buy/sell deal, the same rows as `trades` in --json
    text = (tmp_path / "t1.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(TRADE_COLUMNS)
    assert rows == [{c: str(t[c]) for c in TRADE_COLUMNS} for t in summary["trades"]]
    assert [int(r["deal"]) for r in rows] == sorted(int(r["deal"]) for r in rows)
    for a in summary["accounts"]:
        mine = [r for r in rows if r["account"] == a["id"]]
        assert sum(r["entry"] == "in" for r in mine) == a["trades"]
        assert len(mine) == a["deals"]
        # the closing deals' profit, swap and commission (plus the opening commissions) make the balance
        booked = sum(Decimal(r["profit"]) + Decimal(r["swap"]) + Decimal(r["commission"]) for r in mine)
        assert Decimal(a["deposits"]) - Decimal(a["withdrawals"]) + booked == Decimal(a["balance"])
    assert any(r["reason"] == "so" for r in rows)  # the gambler's stop-out closes are listed
    # one standalone SVG per account, the chart's styles inside
    charts = sorted((tmp_path / "c1").iterdir())
    assert [p.name for p in charts] == sorted(f"{a['id']}.svg" for a in summary["accounts"])
    for p in charts:
        root = ET.fromstring(p.read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.find("{http://www.w3.org/2000/svg}style") is not None
        assert root.find("{http://www.w3.org/2000/svg}polyline") is not None
        assert "equity" in root.get("aria-label", "")
    # deterministic: same scenario + seed = the same bytes
    assert runs[0] == runs[1]
    assert (tmp_path / "t1.csv").read_bytes() == (tmp_path / "t2.csv").read_bytes()
    for p in charts:
        assert p.read_bytes() == (tmp_path / "c2" / p.name).read_bytes()


def test_an_unwritable_trades_file_is_one_line_exit_2(tmp_path: Path) -> None:
    run = simulate("--until", "1h", "--trades", str(tmp_path / "no" / "t.csv"))
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"mtbridge simulate: error: --trades {tmp_path / 'no' / 't.csv'}: "
                                               "No such file or directory"]


def test_equity_curve_stays_bounded_and_keeps_its_span() -> None:
    curve = EquityCurve(cap=100)
    for minute in range(10_080):  # a week of one-minute samples
        curve.see(minute * 60_000, Decimal(minute))
    assert len(curve.points) < 100
    assert curve.points[0] == (0, Decimal(0))
    steps = {b[0] - a[0] for a, b in zip(curve.points, curve.points[1:])}
    assert steps == {curve.stride * 60_000}  # evenly spaced
    end = curve.with_end(10_080 * 60_000, Decimal(7))
    assert end[-1] == (10_080 * 60_000, Decimal(7)) and end[:-1] == curve.points
