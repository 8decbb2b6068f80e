//+------------------------------------------------------------------+
//| MtBridgeTrader.mq4 - reports this MT4 account to the mtbridge    |
//| daemon: the order pool is diffed every timer tick (50 ms); closes|
//| carry SL/TP/SO from the "[sl]" / "[tp]" / "so:" comments; partial|
//| closes follow MT4's "to #N" / "from #N" ticket chain.            |
//| Installation and inputs: docs/mql.md.                            |
//+------------------------------------------------------------------+
#property copyright "mtbridge, Apache-2.0"
#property version   "1.00"
#property strict

#include <MtBridge/Reporter.mqh>

input string InpEndpoint        = "tcp://127.0.0.1:5570"; // Daemon endpoint (ROUTER)
input string InpServerPublicKey = "";                     // Daemon CURVE public key (Z85, 40 chars)
input string InpClientPublicKey = "";                     // This terminal's CURVE public key (Z85, 40 chars)
input string InpClientSecretKey = "";                     // This terminal's CURVE secret key (Z85, 40 chars)
input int    InpHeartbeatMs     = 1000;                   // Heartbeat until the daemon's welcome sets it, ms
input int    InpReconnectMs     = 3000;                   // Wait before reconnecting, ms
input string InpAccountType     = "";                     // Account type name for hello (empty: mt4_standard)
input int    InpTimerMs         = 50;                     // Timer period (order pool diff), ms

MtbLink     g_link;
MtbReporter g_reporter;

int OnInit()
  {
   if(!TerminalInfoInteger(TERMINAL_DLLS_ALLOWED))
     {
      Print("MtBridgeTrader: DLL imports are not allowed (Tools > Options > Expert Advisors); libzmq.dll is required");
      return(INIT_FAILED);
     }
   if(!g_link.Init("MtBridgeTrader",InpEndpoint,InpServerPublicKey,InpClientPublicKey,InpClientSecretKey,
                   InpHeartbeatMs,InpReconnectMs,(ulong)AccountInfoInteger(ACCOUNT_LOGIN)))
      return(INIT_PARAMETERS_INCORRECT);
   g_reporter.Init(GetPointer(g_link),InpAccountType,"trader");
   if(!EventSetMillisecondTimer(InpTimerMs>0 ? InpTimerMs : 50))
     {
      PrintFormat("MtBridgeTrader: EventSetMillisecondTimer failed, error %d",GetLastError());
      return(INIT_FAILED);
     }
   return(INIT_SUCCEEDED);
  }

void OnDeinit(const int reason)
  {
   EventKillTimer();
   g_link.Shutdown();
   PrintFormat("MtBridgeTrader: stopped (deinit reason %d)",reason);
  }

void OnTimer()
  {
   if(g_link.ReconnectDue())
      g_link.Open();
   if(g_link.NeedsHello())
      g_reporter.SendHello();
   MtbInbound m;
   bool got=true;
   for(int guard=0; guard<100 && got; guard++)
     {
      if(!g_link.Receive(m,got))
         break;
      if(got && m.type!="welcome" && m.type!="heartbeat" && m.type!="error")
         PrintFormat("MtBridgeTrader: ignoring a %s command (this EA only reports; attach MtBridgeInvestor to execute)",m.type);
     }
   g_reporter.Poll();
   g_reporter.AccountTick();
   g_link.Tick();
  }
