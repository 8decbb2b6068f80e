"""The trade server's plugin interface (`api`), its host (`host`) and the seeds' rules as
plugins (`rules`). See `simulator.server.plugins.api` and docs/deployment-modes.md."""

from simulator.server.plugins.api import (
    AccountOpening,
    AccountState,
    Adjust,
    BalanceOperation,
    ClosePosition,
    DealerAction,
    DealEvent,
    EndOfDayEvent,
    LoginEvent,
    MarginEvent,
    MarginModel,
    ModifyPosition,
    OpenPosition,
    PositionEvent,
    RiskEngine,
    RolloverEvent,
    SendRequest,
    ServerPlugin,
    TradeRequestEvent,
    TradeResultEvent,
    Verdict,
    Veto,
)
from simulator.server.plugins.host import PluginHost, ServerAPI

__all__ = ["AccountOpening", "AccountState", "Adjust", "BalanceOperation", "ClosePosition", "DealEvent",
           "DealerAction", "EndOfDayEvent", "LoginEvent", "MarginEvent", "MarginModel", "ModifyPosition",
           "OpenPosition", "PluginHost", "PositionEvent", "RiskEngine", "RolloverEvent", "SendRequest",
           "ServerAPI", "ServerPlugin", "TradeRequestEvent", "TradeResultEvent", "Verdict", "Veto"]
