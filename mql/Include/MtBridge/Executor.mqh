//+------------------------------------------------------------------+
//| MtBridge/Executor.mqh - runs open/close/modify commands once per |
//| idempotency key and answers each with command_result.            |
//| This file: the key's life (journal, recovery, unknown outcomes). |
//| ExecutorMt5.mqh (CTrade) and ExecutorMt4.mqh (OrderSend ...) do  |
//| the trade requests and the searches in positions and history.    |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_EXECUTOR_MQH
#define MTBRIDGE_EXECUTOR_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Reporter.mqh"
#include "Journal.mqh"
#include "Orders.mqh"
#ifdef __MQL5__
#include <Trade/Trade.mqh>
#endif

//--- MT5 TRADE_RETCODE_* values used in command_result (MT4 maps to them)
#define MTB_RC_REQUOTE         10004
#define MTB_RC_PLACED          10008   // market order accepted, not yet filled: outcome unknown
#define MTB_RC_DONE            10009
#define MTB_RC_DONE_PARTIAL    10010
#define MTB_RC_ERROR           10011
#define MTB_RC_TIMEOUT         10012   // request timed out: outcome unknown
#define MTB_RC_INVALID         10013
#define MTB_RC_INVALID_VOLUME  10014
#define MTB_RC_INVALID_PRICE   10015
#define MTB_RC_INVALID_STOPS   10016
#define MTB_RC_TRADE_DISABLED  10017
#define MTB_RC_MARKET_CLOSED   10018
#define MTB_RC_NO_MONEY        10019
#define MTB_RC_PRICE_CHANGED   10020
#define MTB_RC_PRICE_OFF       10021
#define MTB_RC_TOO_MANY        10024
#define MTB_RC_NO_CHANGES      10025
#define MTB_RC_AUTOTRADING_OFF 10027   // TRADE_RETCODE_CLIENT_DISABLES_AT
#define MTB_RC_FROZEN          10029
#define MTB_RC_CONNECTION      10031   // no connection with the trade server: outcome unknown
#define MTB_RC_POSITION_CLOSED 10036
#define MTB_RC_EXPIRED         20001   // mtbridge: an open past its `expires`, not executed (docs/protocol.md)

//--- how one trade request ended
#define MTB_OUT_DONE           0       // executed; the result is in r
#define MTB_OUT_REFUSED        1       // not executed; the refusal is in r
#define MTB_OUT_UNKNOWN        2       // timeout / lost connection: it may or may not have executed

#define MTB_CLOSE_SLACK_MS     1000    // server clock resolution (seconds) when comparing deal times
#define MTB_HISTORY_BACK_S     86400   // a pending key's history window starts one day before it
#define MTB_LOST_JOURNAL_DAYS  7       // journal missing or damaged: opens are also looked up this far back

//--- volumes equal on the symbol's lot step
bool MtbSameVolume(const string symbol,const double a,const double b)
  {
   return(MathAbs(MtbNormVolume(symbol,a)-MtbNormVolume(symbol,b))<1e-9);
  }

class MtbExecutor
  {
private:
   MtbReporter      *m_reporter;
   MtbJournal        m_journal;
   MtbKeyStore       m_keys;
   int               m_slippage;
   int               m_attempts;
   void              Refuse(MtbResult &r,const long retcode,const string why);
   bool              Finish(MtbJournalEntry &e,const MtbResult &r);
   bool              Representable(const MtbInbound &c,string &why);
   bool              TradingAllowed(string &why);
   bool              Recover(const MtbJournalEntry &e,MtbResult &r);
   bool              FindOpened(const MtbJournalEntry &e,const bool pending,MtbResult &r);
   //--- platform parts (ExecutorMt5.mqh / ExecutorMt4.mqh)
   bool              OpenedTicket(const ulong ticket,const long magic,MtbResult &r);
   bool              FindTagged(const long magic,const string comment,const datetime from,MtbResult &r);
   bool              FindUntagged(const MtbJournalEntry &e,MtbResult &r);
   bool              FindCloseSince(const ulong ticket,const ulong since_ms,const double volume,MtbResult &r);
   int               DoOpen(const MtbInbound &c,MtbResult &r);
   int               DoClose(const MtbInbound &c,MtbResult &r);
   int               DoModify(const MtbInbound &c,MtbResult &r);
#ifdef __MQL4__
   long              Mt4Retcode(const int err);
   bool              Mt4Retryable(const int err);
   bool              Mt4Unknown(const int err);
   ulong             Mt4Live(const ulong ticket);
   void              Mt4SetStops(const int ticket,const double sl,const double tp,MtbResult &r);
#endif
public:
                     MtbExecutor(void) { m_reporter=NULL; m_slippage=10; m_attempts=3; }
   bool              Init(MtbReporter *reporter,const ulong login,const int slippage,const int attempts);
   bool              Handle(const MtbInbound &c,MtbResult &r);
  };

void MtbExecutor::Refuse(MtbResult &r,const long retcode,const string why)
  {
   r.ok=false;
   r.retcode=retcode;
   r.ticket=0;
   r.price=0.0;
   r.volume=0.0;
   r.time=MtbTradeUtcMs();
   r.message=why;
   PrintFormat("MtBridge: command %s refused (%I64d): %s",r.key,retcode,why);
  }

bool MtbExecutor::Init(MtbReporter *reporter,const ulong login,const int slippage,const int attempts)
  {
   m_reporter=reporter;
   m_slippage=(slippage>=0) ? slippage : 0;
   m_attempts=(attempts>0) ? attempts : 1;
   m_keys.Init(login);
   if(!m_journal.Load(login))
      return(false);
   //--- keys left "pending" by a crash: look for what they did. Right after a terminal start the
   //--- positions and history may not be synchronised yet: what is not found here is looked up
   //--- again when the daemon resends the key (Handle), once the terminal is connected.
   if(!TerminalInfoInteger(TERMINAL_CONNECTED))
      return(true);
   for(int k=0; k<m_journal.Total(); k++)
     {
      MtbJournalEntry e;
      MtbResult r;
      if(!m_journal.Entry(k,e) || e.state!=MTB_J_PENDING)
         continue;
      r.key=e.key;
      if(Recover(e,r))
        {
         Finish(e,r);
         PrintFormat("MtBridge: pending key %s recovered from the terminal: ticket %I64u",e.key,r.ticket);
        }
     }
   return(true);
  }

//--- store the key as done with its result (an opened ticket in the key store too); true = answer with r
bool MtbExecutor::Finish(MtbJournalEntry &e,const MtbResult &r)
  {
   if(r.ok && e.command=="open" && r.ticket>0)
      m_keys.Put(e.key,r.ticket);
   e.state=MTB_J_DONE;
   e.result=r;
   e.result.key=e.key;
   if(!m_journal.Write(e))
      PrintFormat("MtBridge: key %s has a result but it could not be journaled, error %d",e.key,GetLastError());
   return(true);
  }

//--- what a pending key did, from the terminal's positions and history (false: no trace)
bool MtbExecutor::Recover(const MtbJournalEntry &e,MtbResult &r)
  {
   r.key=e.key;
   if(e.command=="open")
      return(FindOpened(e,true,r));
   if(e.command=="close")
      return(FindCloseSince(e.ticket,e.at_ms,e.volume,r));
   return(false);   // modify: running it again is harmless (stops already set -> done)
  }

//--- an open already executed under this key: the key store, the tag (magic + comment), and for
//--- a pending key also magic + symbol + side + volume opened after the pending time
bool MtbExecutor::FindOpened(const MtbJournalEntry &e,const bool pending,MtbResult &r)
  {
   ulong ticket=0;
   if(m_keys.Get(e.key,ticket) && OpenedTicket(ticket,e.magic,r))
     {
      r.message="recovered from the key store (terminal global variables)";
      return(true);
     }
   //--- the history pass only where the journal cannot answer: a pending key (from one day
   //--- before it), or a journal missing or damaged at start (the last MTB_LOST_JOURNAL_DAYS)
   datetime from=0;
   if(pending && e.at_ms>0)
      from=MtbServerTime(e.at_ms)-MTB_HISTORY_BACK_S;
   else if(!m_journal.Intact())
      from=MtbServerNow()-MTB_LOST_JOURNAL_DAYS*86400;
   if(e.comment!="" && FindTagged(e.magic,e.comment,from,r))
      return(true);
   if(pending && e.at_ms>0 && e.symbol!="" && FindUntagged(e,r))
      return(true);
   return(false);
  }

//--- row 12 of the review: a well-formed command this terminal cannot carry out exactly is
//--- refused (10013) with the reason, never answered by a reconnect. The parser flags values
//--- it accepted but MQL cannot hold (a NUL byte in a string, a magic outside MT4's int or a
//--- negative one on MT5: Protocol.mqh, MtbInbound.unrepresentable); the comment limit is here.
bool MtbExecutor::Representable(const MtbInbound &c,string &why)
  {
   why=c.unrepresentable;
   if(why=="" && c.type=="open" && StringLen(c.comment)>MTB_COMMENT_MAX)
      why="comment longer than 31 characters cannot be kept exactly";
   return(why=="");
  }

//--- the Algo Trading button (MT4: AutoTrading) and the EA's own "allow trading" box
bool MtbExecutor::TradingAllowed(string &why)
  {
   why="";
   if(!TerminalInfoInteger(TERMINAL_TRADE_ALLOWED))
      why="automated trading is switched off in the terminal (Algo Trading / AutoTrading button)";
   else if(!MQLInfoInteger(MQL_TRADE_ALLOWED))
      why="this EA may not trade: tick Allow Algo Trading (MT4: Allow live trading) in its Common tab";
   return(why=="");
  }

//--- one command. true: r is the answer (stored under the key). false: no answer yet, the key
//--- stays pending (unknown outcome, or the terminal is offline) and the daemon's resend, with
//--- the same key, looks again before anything runs twice.
bool MtbExecutor::Handle(const MtbInbound &c,MtbResult &r)
  {
   r.key=c.key;
   MtbJournalEntry e;
   bool pending=false;
   int k=m_journal.Find(c.key);
   if(k>=0 && m_journal.Entry(k,e))
     {
      if(e.state==MTB_J_DONE)
        {
         r=e.result;
         r.key=c.key;
         PrintFormat("MtBridge: key %s already executed; answering with the stored result",c.key);
         return(true);
        }
      pending=true;
     }
   else
     {
      e.key=c.key;
      e.at_ms=0;
     }
   e.command=c.type;
   e.ticket=c.ticket;
   e.magic=(long)c.magic;   // MT5 ulong kept bit for bit (POSITION_MAGIC reads back as long)
   e.comment=c.comment;
   e.symbol=c.symbol;
   e.side=c.side;
   e.volume=c.volume;
   //--- a pending key may have executed before (crash, unknown outcome): look before running it
   if(pending)
     {
      if(!TerminalInfoInteger(TERMINAL_CONNECTED))
        {
         PrintFormat("MtBridge: key %s is pending and the terminal is not connected to the trade server; "
                     "not answered until it is (the daemon resends it)",c.key);
         return(false);
        }
      if(Recover(e,r))
        {
         PrintFormat("MtBridge: pending key %s found executed: ticket %I64u (%s)",c.key,r.ticket,r.message);
         return(Finish(e,r));
        }
      PrintFormat("MtBridge: pending key %s (%s) left no trace; it runs again",c.key,c.type);
     }
   else if(c.type=="open" && FindOpened(e,false,r))
     {
      PrintFormat("MtBridge: key %s: position %I64u already carries it; not opened again",c.key,r.ticket);
      return(Finish(e,r));
     }
   //--- refusals decided here: nothing reaches the trade server
   string why="";
   if(!Representable(c,why))
     {
      Refuse(r,MTB_RC_INVALID,why);
      return(Finish(e,r));
     }
   if(c.type=="open" && !SymbolSelect(c.symbol,true))
     {
      Refuse(r,MTB_RC_INVALID,StringFormat("unknown symbol %s (error %d)",c.symbol,GetLastError()));
      return(Finish(e,r));
     }
   if(!MtbAccountMayTrade())
     {
      Refuse(r,MTB_RC_TRADE_DISABLED,MTB_TRADE_DISABLED_WHY);
      return(Finish(e,r));
     }
   if(c.type=="open" && c.expires>0 && MtbNowMs()>c.expires)
     {
      Refuse(r,MTB_RC_EXPIRED,StringFormat("expired %I64u ms ago; not executed",MtbNowMs()-c.expires));
      return(Finish(e,r));
     }
   if(!TradingAllowed(why))
     {
      Refuse(r,MTB_RC_AUTOTRADING_OFF,why);
      return(Finish(e,r));
     }
   //--- pending before the trade request: a crash after it is recovered from the terminal
   e.state=MTB_J_PENDING;
   e.at_ms=MtbTradeUtcMs();
   e.result.key=c.key;
   e.result.ok=false;
   e.result.retcode=0;
   e.result.ticket=0;
   e.result.price=0.0;
   e.result.volume=0.0;
   e.result.time=0;
   e.result.message="";
   if(!m_journal.Write(e))
     {
      Refuse(r,MTB_RC_ERROR,"the idempotency journal cannot be written; not executed");
      return(true);
     }
   int out=MTB_OUT_REFUSED;
   if(c.type=="open")
      out=DoOpen(c,r);
   else if(c.type=="close")
      out=DoClose(c,r);
   else if(MtbIsOrderCommand(c.type))
      out=MtbDoOrder(c,r);   // pending orders (Orders.mqh)
   else
      out=DoModify(c,r);
   if(out==MTB_OUT_UNKNOWN)
     {
      long rc=r.retcode;
      string detail=r.message;
      if(!Recover(e,r))
        {
         PrintFormat("MtBridge: key %s: outcome unknown (retcode %I64d %s) and no trace of it yet; the key stays "
                     "pending and unanswered: the daemon's resend looks again before running it",c.key,rc,detail);
         return(false);
        }
      PrintFormat("MtBridge: key %s: outcome unknown (retcode %I64d) but found executed: ticket %I64u",c.key,rc,r.ticket);
     }
   return(Finish(e,r));
  }

#ifdef __MQL5__
#include "ExecutorMt5.mqh"
#else
#include "ExecutorMt4.mqh"
#endif

#endif // MTBRIDGE_EXECUTOR_MQH
