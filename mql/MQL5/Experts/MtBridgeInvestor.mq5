//+------------------------------------------------------------------+
//| MtBridgeInvestor.mq5 - executes the daemon's open/close/modify   |
//| commands on this MT5 account, at most once per idempotency key  |
//| (journal file + the tag in magic/comment survive restarts), and   |
//| answers each with command_result. Also reports the account like   |
//| MtBridgeTrader. Commands are read without blocking in OnTimer.    |
//| Execution: CTrade with the filling mode the symbol allows (FOK, IOC, RETURN).
//| Installation and inputs: docs/mql.md.                            |
//+------------------------------------------------------------------+
#property copyright "mtbridge, Apache-2.0"
#property version   "1.00"
#property strict

#include <MtBridge/Executor.mqh>

input string InpEndpoint        = "tcp://127.0.0.1:5570"; // Daemon endpoint (ROUTER)
input string InpServerPublicKey = "";                     // Daemon CURVE public key (Z85, 40 chars)
input string InpClientPublicKey = "";                     // This terminal's CURVE public key (Z85, 40 chars)
input string InpClientSecretKey = "";                     // This terminal's CURVE secret key (Z85, 40 chars)
input int    InpHeartbeatMs     = 1000;                   // Heartbeat until the daemon's welcome sets it, ms
input int    InpReconnectMs     = 3000;                   // Wait before reconnecting, ms
input string InpAccountType     = "";                     // Account type name for hello (empty: platform default)
input int    InpTimerMs         = 50;                     // Timer period (command polling), ms
input int    InpSlippagePoints  = 10;                     // Maximum price deviation for market orders, points
input int    InpMaxAttempts     = 3;                      // Attempts per trade request on requote/busy

MtbLink     g_link;
MtbReporter g_reporter;
MtbExecutor g_executor;
ulong       g_last_reconcile=0;

int OnInit()
  {
   if(!TerminalInfoInteger(TERMINAL_DLLS_ALLOWED))
     {
      Print("MtBridgeInvestor: DLL imports are not allowed (Tools > Options > Expert Advisors); libzmq.dll is required");
      return(INIT_FAILED);
     }
   ulong login=(ulong)AccountInfoInteger(ACCOUNT_LOGIN);
   if(!g_link.Init("MtBridgeInvestor",InpEndpoint,InpServerPublicKey,InpClientPublicKey,InpClientSecretKey,
                   InpHeartbeatMs,InpReconnectMs,login))
      return(INIT_PARAMETERS_INCORRECT);
   g_reporter.Init(GetPointer(g_link),InpAccountType,"investor");
   if(!g_executor.Init(GetPointer(g_reporter),login,InpSlippagePoints,InpMaxAttempts))
     {
      PrintFormat("MtBridgeInvestor: the idempotency journal cannot be read, error %d; not starting",GetLastError());
      return(INIT_FAILED);
     }
   if(MtbLoginRole()!="trader")
      Print("MtBridgeInvestor: this terminal is logged in read-only (investor password); every command will be refused with retcode 10017");
   if(!EventSetMillisecondTimer(InpTimerMs>0 ? InpTimerMs : 50))
     {
      PrintFormat("MtBridgeInvestor: EventSetMillisecondTimer failed, error %d",GetLastError());
      return(INIT_FAILED);
     }
   return(INIT_SUCCEEDED);
  }

void OnDeinit(const int reason)
  {
   EventKillTimer();
   g_link.Shutdown();
   PrintFormat("MtBridgeInvestor: stopped (deinit reason %d)",reason);
  }

//--- run one command and answer it
void Execute(const MtbInbound &m)
  {
   MtbResult r;
   g_executor.Handle(m,r);
   if(!g_link.CanSend())
     {
      PrintFormat("MtBridgeInvestor: result of %s not sent (link down); the journal answers the daemon's resend",m.key);
      return;
     }
   MtbEnvelope env;
   g_link.NextEnvelope(env);
   MpWriter w;
   MtbBuildCommandResult(w,env,r);
   g_link.Send(w,"command_result");
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
      if(got && (m.type=="open" || m.type=="close" || m.type=="modify"))
         Execute(m);
     }
   ulong now=MtbNowMs();
   if(now>=g_last_reconcile+1000)
     {
      g_last_reconcile=now;
      g_reporter.Reconcile();
     }
   g_reporter.AccountTick();
   g_link.Tick();
  }

void OnTradeTransaction(const MqlTradeTransaction &trans,const MqlTradeRequest &request,const MqlTradeResult &result)
  {
   g_reporter.OnTransaction(trans);
  }
