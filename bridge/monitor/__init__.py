"""Monitoring: the consumer side of the daemon's PUB feed (docs/monitoring.md).

* `state`   pure reducer: `MonitorState().apply(FeedEvent)`; `views` who sees what;
* `feed`    frames <-> events, recordings, the SUB socket shell (CURVE, reconnect, resync);
* `console` `mtbridge monitor` (rich); `web` + `auth` + `svg` + `assets` `mtbridge dashboard`
  (Starlette/uvicorn, SSE); `metrics` Prometheus, a dedicated registry;
* `commands` `add_commands(subparsers)` for bridge/cli.py.
"""

from bridge.monitor.state import Account, EventLine, Exposure, FeedEvent, MonitorState, Subscription, Terminal, Trader

__all__ = ["Account", "EventLine", "Exposure", "FeedEvent", "MonitorState", "Subscription", "Terminal", "Trader"]
