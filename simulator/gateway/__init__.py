"""mtbridge's server-side gateway: a plugin of the simulated trade server that speaks the
bridge protocol for many accounts (issue 14, item 3; docs/deployment-modes.md).

- `GatewayPlugin`: hooks in (which accounts changed), one `GatewayLink` per allow-list role out.
- `GatewayLink`: a `simulator.terminals.TerminalCore` plus the accounts due for a scan; a
  `simulator.terminals.TerminalClient` carries it over pyzmq as it carries a terminal's core.
- `DealerAccounts`: the core's account side: server reads, dealer actions for trades.
"""

from simulator.gateway.accounts import DealerAccounts, dealer_session
from simulator.gateway.plugin import GatewayLink, GatewayPlugin

__all__ = ["DealerAccounts", "GatewayLink", "GatewayPlugin", "dealer_session"]
