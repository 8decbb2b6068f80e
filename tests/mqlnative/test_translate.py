"""The MQL -> C++ translation rules (docs/mql-linux.md) and the language core, run natively."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mqlnative.build import build
from mqlnative.translate import TranslateError, translate_program


def _program(tmp: Path, source: str, includes: dict[str, str] | None = None, kind: str = "Scripts") -> Path:
    for rel, text in (includes or {}).items():
        path = tmp / "mql" / "Include" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    program = tmp / "mql" / kind / "P.mql"
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text(source, encoding="utf-8")
    return program


def _translate(tmp: Path, source: str, **kw) -> str:
    result = translate_program(_program(tmp, source, **kw), tmp / "out", tmp)
    return result.cpp.read_text(encoding="utf-8")


def test_arrays_become_checked_array_types(tmp_path: Path) -> None:
    cpp = _translate(tmp_path, "uchar buf[];\ndouble fixed[4];\nstring a[],b[];\n"
                               "int F(const uchar &x[],string &out[]) { return(ArraySize(x)); }\n")
    assert "MqlArray<uchar> buf;" in cpp
    assert "MqlFixedArray<double, (4)> fixed;" in cpp
    assert "MqlArray<string> a,b;" in cpp
    assert "int F(const MqlArray<uchar> &x,MqlArray<string> &out)" in cpp


@pytest.mark.parametrize("source, why", [
    ("int F(int x[]) { return(0); }\n", "passed by reference"),
    ("double m[2][3];\n", "multi-dimensional"),
    ("int a[], b;\n", "mixed array declarators"),
    ("class A { public: int x; };\nA *p;\nA p2;\nvoid G(A &p) { }\n", "both as object pointer and as object"),
    ("struct S { int x; };\nint F(const S s) { return(s.x); }\n", "objects are passed by reference only"),
])
def test_constructs_without_a_faithful_translation_are_refused(tmp_path: Path, source: str, why: str) -> None:
    with pytest.raises(TranslateError, match=why):
        _translate(tmp_path, source)


def test_pointer_members_use_the_arrow_and_lines_are_kept(tmp_path: Path) -> None:
    source = ("#property strict\nclass A { public: int x; void Set(int v) { x=v; } };\n"
              "class B { A *m_a; A m_b; public: void Go(A *a) { m_a=a; m_a.Set(1); a.x=2; m_b.x=3; } };\n"
              "A *p=new A;\nvoid Drop() { delete p; }\n")
    cpp = _translate(tmp_path, source)
    body = cpp.split('#line 1 "mql/Scripts/P.mql"\n', 1)[1].split("\n#line", 1)[0]
    assert body.count("\n") == source.count("\n")
    assert "m_a->Set(1); a->x=2; m_b.x=3;" in body
    assert "A *p=mqln_new<A>();" in body and "mqln_delete(p);" in body
    assert "#property" not in body


def test_inputs_imports_includes_and_handler_markers(tmp_path: Path) -> None:
    source = ('#include <Lib/L.mqh>\ninput string InpName = "a,b"; // comment\nsinput int InpN=3;\n'
              '#import "libfoo.dll"\nint foo(const uchar &b[],int n);\n#import\n'
              "int OnInit() { return(0); }\n#ifdef __MQL5__\nvoid OnTradeTransaction(const MqlTradeTransaction &t,"
              "const MqlTradeRequest &q,const MqlTradeResult &r) { }\n#endif\nvoid OnTimer() { }\n")
    cpp = _translate(tmp_path, source, includes={"Lib/L.mqh": "int L=1;\n"}, kind="Experts")
    assert '#include "Lib/L.mqh"' in cpp
    assert 'MQLN_INPUT(string, InpName, "a,b"); // comment' in cpp and "MQLN_INPUT(int, InpN, 3);" in cpp
    assert "namespace mqlimport_libfoo {" in cpp and "} using namespace mqlimport_libfoo;" in cpp
    assert "int foo(const MqlArray<uchar> &b,int n);" in cpp
    assert "#if 1\n#define MQLN_HAS_OnInit 1" in cpp
    assert "#if defined(__MQL5__)\n#define MQLN_HAS_OnTradeTransaction 1" in cpp
    assert cpp.rstrip().endswith('#include "mql/entry.hpp"')
    assert (tmp_path / "out" / "Include" / "Lib" / "L.mqh").read_text().startswith('#line 1 "mql/Include/Lib/L.mqh"')


LANGUAGE_PROBE = r"""
void OnStart()
  {
   string s="h\u00e9 \U0001F600";
   PrintFormat("len=%d ch=%d sub=%s",StringLen(s),StringGetCharacter(s,1),StringSubstr(s,0,2));
   uchar bytes[];
   int n=StringToCharArray(s,bytes,0,WHOLE_ARRAY,CP_UTF8);
   PrintFormat("utf8=%d last=%d back=%s",n,bytes[n-1],CharArrayToString(bytes,0,n,CP_UTF8));
   string parts[];
   int np=StringSplit("heartbeat|dt|",'|',parts); PrintFormat("split=%d [%s]",np,parts[2]);
   ulong big=ULONG_MAX;
   PrintFormat("u64=%I64u i64=%I64d hex=%x f=%.3f s=%s b=%s",big,(long)-5,255,1.23456,"txt",true ? "yes" : "no");
   Print("print ",1," ",2.5," ",true);
   PrintFormat("norm=%.8f round=%.1f",NormalizeDouble(1.23456789,3),MathRound(-2.5));
   int arr[3];
   ArrayInitialize(arr,7);
   PrintFormat("fixed=%d resize=%d",arr[2],ArrayResize(arr,5));
   int k=3;
   Print("before");
   Print(arr[k]);
  }
"""


@pytest.mark.parametrize("branch", ["mql4", "mql5"])
def test_language_core_semantics_and_out_of_range_is_a_critical_error(tmp_path: Path, branch: str) -> None:
    program = _program(tmp_path, LANGUAGE_PROBE)
    result = build(program, branch, "exe", sanitize=True, out_root=tmp_path / "build", source_root=tmp_path)
    assert result.ok, result.log
    run = subprocess.run([str(result.output)], capture_output=True, text=True, timeout=120)
    out = run.stdout.splitlines()
    assert out[0] == "len=5 ch=233 sub=h\u00e9"            # UTF-16 units: the emoji counts 2
    assert out[1] == "utf8=9 last=0 back=h\u00e9 \U0001F600"  # 8 bytes + the terminating 0
    assert out[2] == "split=3 []"
    assert out[3] == "u64=18446744073709551615 i64=-5 hex=ff f=1.235 s=txt b=yes"
    assert out[4] == "print 1 2.5 true"
    assert out[5] == "norm=1.23500000 round=-3.0"
    assert out[6] == "fixed=7 resize=-1"                   # a static array cannot be resized
    assert out[7] == "before" and len(out) == 9
    line = LANGUAGE_PROBE.splitlines().index("   Print(arr[k]);") + 1
    assert out[8] == f"critical error: array out of range in 'mql/Scripts/P.mql' ({line})"
    assert run.returncode != 0
