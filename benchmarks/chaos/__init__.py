"""Real-socket chaos harness for `benchmarks/bench_link_chaos.py` and
`tests/integration/test_link_chaos.py` (issue 10): a daemon subprocess, protocol terminals
that execute commands and judge each open against its validity, a feed collector, a loop-lag
probe and flood sender processes. See `benchmarks.chaos.harness` and `benchmarks.chaos.scenarios`.
"""
