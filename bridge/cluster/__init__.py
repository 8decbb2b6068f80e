"""Daemons sharded by trader: the pure decisions (leases, routing), functions of (state, now)
-> actions. The shell that runs them on PostgreSQL is bridge/daemon/cluster.py; the design and
what is not built yet: docs/scaling.md."""
