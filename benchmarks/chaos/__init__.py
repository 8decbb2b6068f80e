"""Real-socket chaos harness for `benchmarks/bench_link_chaos.py` and
`tests/integration/test_link_chaos.py` (issue 10): a daemon subprocess, protocol terminals
that execute commands and judge each open against its validity, a feed collector, a loop-lag
probe and flood sender processes. `benchmarks.chaos.harness` lists the pieces (one module
each) and `benchmarks.chaos.scenarios` the scenarios (fault_scenarios, capacity_scenarios).
"""
