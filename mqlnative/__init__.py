"""MQL on Linux: the proof, in `make test`, that the expert advisors in mql/ compile and work.

No MetaEditor runs on Linux, so each MQL program is rewritten mechanically into C++
(`translate`), type-checked by g++ against headers that declare the MQL built-ins with their
documented signatures (`include/`), and built natively against a runtime whose terminal
functions are backed by the simulated trade server (`runtime/`, `host`).
Arrows: mqlnative may import simulator and bridge; neither imports mqlnative.
"""
