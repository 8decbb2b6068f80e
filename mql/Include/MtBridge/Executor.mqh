//+------------------------------------------------------------------+
//| MtBridge/Executor.mqh - runs open/close/modify commands once per |
//| idempotency key and answers each with command_result.            |
//| MT5: CTrade, filling mode from SYMBOL_FILLING_MODE.              |
//| MT4: OrderSend/OrderClose/OrderModify, bounded retries on        |
//| requote (138), busy context (146), price changed (135), off      |
//| quotes (136) and broker busy (137), with RefreshRates.           |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_EXECUTOR_MQH
#define MTBRIDGE_EXECUTOR_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Reporter.mqh"
#include "Journal.mqh"
#ifdef __MQL5__
#include <Trade/Trade.mqh>
#endif

//--- MT5 TRADE_RETCODE_* values used in command_result (MT4 maps to them)
#define MTB_RC_DONE            10009
#define MTB_RC_DONE_PARTIAL    10010
#define MTB_RC_ERROR           10011
#define MTB_RC_INVALID         10013
#define MTB_RC_INVALID_VOLUME  10014
#define MTB_RC_INVALID_PRICE   10015
#define MTB_RC_INVALID_STOPS   10016
#define MTB_RC_TRADE_DISABLED  10017
#define MTB_RC_MARKET_CLOSED   10018
#define MTB_RC_NO_MONEY        10019
#define MTB_RC_PRICE_CHANGED   10020
#define MTB_RC_PRICE_OFF       10021
#define MTB_RC_REQUOTE         10004
#define MTB_RC_TOO_MANY        10024
#define MTB_RC_NO_CHANGES      10025
#define MTB_RC_FROZEN          10029
#define MTB_RC_POSITION_CLOSED 10036
#define MTB_RC_EXPIRED         20001   // mtbridge: an open past its `expires`, not executed (docs/protocol.md)

class MtbExecutor
  {
private:
   MtbReporter      *m_reporter;
   MtbJournal        m_journal;
   int               m_slippage;
   int               m_attempts;
   void              Refuse(MtbResult &r,const long retcode,const string why);
   bool              FindTagged(const long magic,const string comment,MtbResult &r);
   bool              FindCloseSince(const ulong ticket,const ulong since_ms,MtbResult &r);
   void              DoOpen(const MtbInbound &c,MtbResult &r);
   void              DoClose(const MtbInbound &c,MtbResult &r);
   void              DoModify(const MtbInbound &c,MtbResult &r);
   void              Recover(MtbJournalEntry &e);
#ifdef __MQL4__
   long              Mt4Retcode(const int err);
   bool              Mt4Retryable(const int err);
#endif
public:
                     MtbExecutor(void) { m_reporter=NULL; m_slippage=10; m_attempts=3; }
   bool              Init(MtbReporter *reporter,const ulong login,const int slippage,const int attempts);
   void              Handle(const MtbInbound &c,MtbResult &r);
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
   if(!m_journal.Load(login))
      return(false);
   //--- keys left "pending" by a crash: look for what they did in positions and history
   for(int k=0; k<m_journal.Total(); k++)
     {
      MtbJournalEntry e;
      if(m_journal.Entry(k,e) && e.state==MTB_J_PENDING)
         Recover(e);
     }
   return(true);
  }

//--- a pending key after a restart: done if its effect is visible, otherwise left to run again
void MtbExecutor::Recover(MtbJournalEntry &e)
  {
   MtbResult r;
   r.key=e.key;
   bool found=false;
   if(e.command=="open" && e.comment!="")
      found=FindTagged(e.magic,e.comment,r);
   else if(e.command=="close")
      found=FindCloseSince(e.ticket,e.at_ms,r);
   if(!found)
     {
      PrintFormat("MtBridge: pending key %s (%s) left no trace; it runs again if the daemon resends it",e.key,e.command);
      return;
     }
   e.state=MTB_J_DONE;
   e.result=r;
   m_journal.Write(e);
   PrintFormat("MtBridge: pending key %s recovered from the terminal: ticket %I64u",e.key,r.ticket);
  }

//--- one command: stored result for a known key, otherwise run it once and store the result
void MtbExecutor::Handle(const MtbInbound &c,MtbResult &r)
  {
   r.key=c.key;
   int k=m_journal.Find(c.key);
   if(k>=0)
     {
      MtbJournalEntry old;
      m_journal.Entry(k,old);
      if(old.state==MTB_J_DONE)
        {
         r=old.result;
         r.key=c.key;
         PrintFormat("MtBridge: key %s already executed; answering with the stored result",c.key);
         return;
        }
     }
   //--- an open whose tag is already on a position or deal was executed before the journal knew
   if(c.type=="open" && c.comment!="" && FindTagged(c.magic,c.comment,r))
      PrintFormat("MtBridge: key %s: position %I64u already carries its tag; not opened again",c.key,r.ticket);
   else
     {
      MtbJournalEntry e;
      e.key=c.key;
      e.state=MTB_J_PENDING;
      e.result.key=c.key;
      e.result.ok=false;
      e.result.retcode=0;
      e.result.ticket=0;
      e.result.price=0.0;
      e.result.volume=0.0;
      e.result.time=0;
      e.result.message="";
      e.at_ms=MtbTradeUtcMs();
      e.command=c.type;
      e.ticket=c.ticket;
      e.magic=c.magic;
      e.comment=c.comment;
      if(!m_journal.Write(e))
        {
         Refuse(r,MTB_RC_ERROR,"the idempotency journal cannot be written; not executed");
         return;
        }
      if(MtbLoginRole()!="trader")
         Refuse(r,MTB_RC_TRADE_DISABLED,"the terminal is logged in read-only (investor password)");
      else if(c.type=="open" && c.expires>0 && MtbNowMs()>c.expires)
         Refuse(r,MTB_RC_EXPIRED,StringFormat("expired %I64u ms ago; not executed",MtbNowMs()-c.expires));
      else if(c.type=="open")
         DoOpen(c,r);
      else if(c.type=="close")
         DoClose(c,r);
      else
         DoModify(c,r);
     }
   MtbJournalEntry done;
   done.key=c.key;
   done.state=MTB_J_DONE;
   done.result=r;
   done.at_ms=MtbTradeUtcMs();
   done.command=c.type;
   done.ticket=c.ticket;
   done.magic=c.magic;
   done.comment=c.comment;
   if(!m_journal.Write(done))
      PrintFormat("MtBridge: key %s executed but its result could not be journaled, error %d",c.key,GetLastError());
  }

#ifdef __MQL5__
//+------------------------------------------------------------------+
//| MT5                                                              |
//+------------------------------------------------------------------+
ENUM_ORDER_TYPE_FILLING MtbFilling(const string symbol)
  {
   long modes=SymbolInfoInteger(symbol,SYMBOL_FILLING_MODE);
   if((modes&SYMBOL_FILLING_FOK)!=0)
      return(ORDER_FILLING_FOK);
   if((modes&SYMBOL_FILLING_IOC)!=0)
      return(ORDER_FILLING_IOC);
   return(ORDER_FILLING_RETURN);
  }

bool MtbRetryable(const uint rc)
  {
   return(rc==MTB_RC_REQUOTE || rc==MTB_RC_PRICE_CHANGED || rc==MTB_RC_PRICE_OFF || rc==MTB_RC_TOO_MANY);
  }

//--- result fields from a deal
void MtbFromDeal(const ulong deal,MtbResult &r)
  {
   string symbol=HistoryDealGetString(deal,DEAL_SYMBOL);
   r.ok=true;
   r.retcode=MTB_RC_DONE;
   r.ticket=(ulong)HistoryDealGetInteger(deal,DEAL_POSITION_ID);
   r.price=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_PRICE));
   r.volume=MtbNormVolume(symbol,HistoryDealGetDouble(deal,DEAL_VOLUME));
   r.time=MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC));
   r.message="";
  }

bool MtbExecutor::FindTagged(const long magic,const string comment,MtbResult &r)
  {
   for(int i=PositionsTotal()-1; i>=0; i--)
     {
      ulong t=PositionGetTicket(i);
      if(t==0 || PositionGetInteger(POSITION_MAGIC)!=magic || PositionGetString(POSITION_COMMENT)!=comment)
         continue;
      string symbol=PositionGetString(POSITION_SYMBOL);
      r.ok=true;
      r.retcode=MTB_RC_DONE;
      r.ticket=t;
      r.price=MtbNormPrice(symbol,PositionGetDouble(POSITION_PRICE_OPEN));
      r.volume=MtbNormVolume(symbol,PositionGetDouble(POSITION_VOLUME));
      r.time=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC));
      r.message="recovered from the position's tag";
      return(true);
     }
   if(!HistorySelect(0,TimeCurrent()+86400))
     {
      PrintFormat("MtBridge: HistorySelect failed, error %d",GetLastError());
      return(false);
     }
   for(int i=HistoryDealsTotal()-1; i>=0; i--)
     {
      ulong d=HistoryDealGetTicket(i);
      if(d==0 || HistoryDealGetInteger(d,DEAL_ENTRY)!=DEAL_ENTRY_IN)
         continue;
      if(HistoryDealGetInteger(d,DEAL_MAGIC)!=magic || HistoryDealGetString(d,DEAL_COMMENT)!=comment)
         continue;
      MtbFromDeal(d,r);
      r.message="recovered from the deal history";
      return(true);
     }
   return(false);
  }

bool MtbExecutor::FindCloseSince(const ulong ticket,const ulong since_ms,MtbResult &r)
  {
   if(!HistorySelectByPosition(ticket))
      return(false);
   for(int i=HistoryDealsTotal()-1; i>=0; i--)
     {
      ulong d=HistoryDealGetTicket(i);
      long entry=HistoryDealGetInteger(d,DEAL_ENTRY);
      if(d==0 || (entry!=DEAL_ENTRY_OUT && entry!=DEAL_ENTRY_OUT_BY))
         continue;
      if(MtbUtcMs((ulong)HistoryDealGetInteger(d,DEAL_TIME_MSC))+1000<since_ms)
         continue;
      MtbFromDeal(d,r);
      r.message="recovered from the deal history";
      return(true);
     }
   return(false);
  }

void MtbExecutor::DoOpen(const MtbInbound &c,MtbResult &r)
  {
   if(StringLen(c.comment)>MTB_COMMENT_MAX)
     { Refuse(r,MTB_RC_INVALID,"comment longer than 31 characters cannot be kept exactly"); return; }
   if(!SymbolSelect(c.symbol,true))
     { Refuse(r,MTB_RC_INVALID,StringFormat("unknown symbol %s (error %d)",c.symbol,GetLastError())); return; }
   double volume=MtbNormVolume(c.symbol,c.volume);
   if(MathAbs(volume-c.volume)>1e-9 || volume<SymbolInfoDouble(c.symbol,SYMBOL_VOLUME_MIN) ||
      volume>SymbolInfoDouble(c.symbol,SYMBOL_VOLUME_MAX))
     { Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g does not fit the symbol's lot step/min/max",c.volume)); return; }
   CTrade trade;
   trade.SetExpertMagicNumber((ulong)c.magic);
   trade.SetDeviationInPoints((ulong)m_slippage);
   trade.SetTypeFilling(MtbFilling(c.symbol));
   trade.SetAsyncMode(false);
   double sl=MtbNormPrice(c.symbol,c.sl);
   double tp=MtbNormPrice(c.symbol,c.tp);
   ENUM_ORDER_TYPE type=(c.side=="buy") ? ORDER_TYPE_BUY : ORDER_TYPE_SELL;
   uint rc=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      double price=(type==ORDER_TYPE_BUY) ? SymbolInfoDouble(c.symbol,SYMBOL_ASK) : SymbolInfoDouble(c.symbol,SYMBOL_BID);
      bool sent=trade.PositionOpen(c.symbol,type,volume,price,sl,tp,c.comment);
      rc=trade.ResultRetcode();
      if(sent && (rc==MTB_RC_DONE || rc==MTB_RC_DONE_PARTIAL))
        {
         ulong deal=trade.ResultDeal();
         r.ok=true;
         r.retcode=rc;
         r.ticket=trade.ResultOrder();
         if(deal>0 && HistoryDealSelect(deal))
            r.ticket=(ulong)HistoryDealGetInteger(deal,DEAL_POSITION_ID);
         r.price=MtbNormPrice(c.symbol,trade.ResultPrice());
         r.volume=MtbNormVolume(c.symbol,trade.ResultVolume());
         r.time=(deal>0 && HistoryDealSelect(deal)) ? MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC)) : MtbTradeUtcMs();
         r.message=trade.ResultComment();
         return;
        }
      PrintFormat("MtBridge: open %s attempt %d/%d: retcode %u %s, error %d",c.key,attempt,m_attempts,rc,
                  trade.ResultRetcodeDescription(),GetLastError());
      if(!MtbRetryable(rc))
         break;
      Sleep(100);
     }
   Refuse(r,(long)rc,trade.ResultRetcodeDescription());
  }

void MtbExecutor::DoClose(const MtbInbound &c,MtbResult &r)
  {
   ulong ticket=m_reporter.LiveTicket(c.ticket);
   if(!PositionSelectByTicket(ticket))
     { Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket)); return; }
   string symbol=PositionGetString(POSITION_SYMBOL);
   double open=PositionGetDouble(POSITION_VOLUME);
   double volume=MtbNormVolume(symbol,c.volume);
   if(volume<=0.0)
     { Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g rounds to zero lots",c.volume)); return; }
   CTrade trade;
   trade.SetExpertMagicNumber((ulong)PositionGetInteger(POSITION_MAGIC));
   trade.SetDeviationInPoints((ulong)m_slippage);
   trade.SetTypeFilling(MtbFilling(symbol));
   uint rc=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      bool sent=(volume>=open) ? trade.PositionClose(ticket) : trade.PositionClosePartial(ticket,volume);
      rc=trade.ResultRetcode();
      if(sent && (rc==MTB_RC_DONE || rc==MTB_RC_DONE_PARTIAL))
        {
         r.ok=true;
         r.retcode=rc;
         r.ticket=c.ticket;
         r.price=MtbNormPrice(symbol,trade.ResultPrice());
         r.volume=MtbNormVolume(symbol,trade.ResultVolume());
         ulong deal=trade.ResultDeal();
         r.time=(deal>0 && HistoryDealSelect(deal)) ? MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC)) : MtbTradeUtcMs();
         r.message=trade.ResultComment();
         return;
        }
      PrintFormat("MtBridge: close %s attempt %d/%d: retcode %u %s, error %d",c.key,attempt,m_attempts,rc,
                  trade.ResultRetcodeDescription(),GetLastError());
      if(!MtbRetryable(rc))
         break;
      Sleep(100);
     }
   Refuse(r,(long)rc,trade.ResultRetcodeDescription());
  }

void MtbExecutor::DoModify(const MtbInbound &c,MtbResult &r)
  {
   ulong ticket=m_reporter.LiveTicket(c.ticket);
   if(!PositionSelectByTicket(ticket))
     { Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket)); return; }
   string symbol=PositionGetString(POSITION_SYMBOL);
   double sl=MtbNormPrice(symbol,c.sl);
   double tp=MtbNormPrice(symbol,c.tp);
   r.ticket=c.ticket;
   r.price=0.0;
   r.volume=0.0;
   r.time=MtbTradeUtcMs();
   if(PositionGetDouble(POSITION_SL)==sl && PositionGetDouble(POSITION_TP)==tp)
     {
      r.ok=true;
      r.retcode=MTB_RC_DONE;
      r.message="stops already set";
      return;
     }
   CTrade trade;
   if(trade.PositionModify(ticket,sl,tp) && trade.ResultRetcode()==MTB_RC_DONE)
     {
      r.ok=true;
      r.retcode=MTB_RC_DONE;
      r.message="";
      return;
     }
   PrintFormat("MtBridge: modify %s: retcode %u %s, error %d",c.key,trade.ResultRetcode(),
               trade.ResultRetcodeDescription(),GetLastError());
   Refuse(r,(long)trade.ResultRetcode(),trade.ResultRetcodeDescription());
  }
#else
//+------------------------------------------------------------------+
//| MT4                                                              |
//+------------------------------------------------------------------+
bool MtbExecutor::Mt4Retryable(const int err)
  {
   return(err==ERR_REQUOTE || err==ERR_TRADE_CONTEXT_BUSY || err==ERR_PRICE_CHANGED ||
          err==ERR_OFF_QUOTES || err==ERR_BROKER_BUSY);
  }

long MtbExecutor::Mt4Retcode(const int err)
  {
   switch(err)
     {
      case ERR_NO_ERROR:           return(MTB_RC_DONE);
      case ERR_REQUOTE:            return(MTB_RC_REQUOTE);
      case ERR_PRICE_CHANGED:      return(MTB_RC_PRICE_CHANGED);
      case ERR_OFF_QUOTES:         return(MTB_RC_PRICE_OFF);
      case ERR_INVALID_PRICE:      return(MTB_RC_INVALID_PRICE);
      case ERR_INVALID_STOPS:      return(MTB_RC_INVALID_STOPS);
      case ERR_INVALID_TRADE_VOLUME: return(MTB_RC_INVALID_VOLUME);
      case ERR_MARKET_CLOSED:      return(MTB_RC_MARKET_CLOSED);
      case ERR_TRADE_DISABLED:     return(MTB_RC_TRADE_DISABLED);
      case ERR_NOT_ENOUGH_MONEY:   return(MTB_RC_NO_MONEY);
      case ERR_TRADE_CONTEXT_BUSY: return(MTB_RC_TOO_MANY);
      case ERR_BROKER_BUSY:        return(MTB_RC_TOO_MANY);
      case ERR_TOO_MANY_REQUESTS:  return(MTB_RC_TOO_MANY);
      case ERR_NO_RESULT:          return(MTB_RC_NO_CHANGES);
      case ERR_INVALID_TICKET:     return(MTB_RC_POSITION_CLOSED);
     }
   return(MTB_RC_ERROR);
  }

bool MtbExecutor::FindTagged(const long magic,const string comment,MtbResult &r)
  {
   for(int pass=0; pass<2; pass++)
     {
      int pool=(pass==0) ? MODE_TRADES : MODE_HISTORY;
      int total=(pass==0) ? OrdersTotal() : OrdersHistoryTotal();
      for(int i=total-1; i>=0; i--)
        {
         if(!OrderSelect(i,SELECT_BY_POS,pool))
            continue;
         if((OrderType()!=OP_BUY && OrderType()!=OP_SELL) || OrderMagicNumber()!=magic)
            continue;
         //--- a closed order's comment may carry a "[sl]"/"[tp]" suffix after the tag
         if(OrderComment()!=comment && StringFind(OrderComment(),comment)!=0)
            continue;
         string symbol=OrderSymbol();
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.ticket=(ulong)OrderTicket();
         r.price=MtbNormPrice(symbol,OrderOpenPrice());
         r.volume=MtbNormVolume(symbol,OrderLots());
         r.time=MtbUtcMs((ulong)OrderOpenTime()*1000);
         r.message=(pass==0) ? "recovered from the position's tag" : "recovered from the order history";
         return(true);
        }
     }
   return(false);
  }

bool MtbExecutor::FindCloseSince(const ulong ticket,const ulong since_ms,MtbResult &r)
  {
   ulong live=m_reporter.LiveTicket(ticket);
   if(!OrderSelect((int)live,SELECT_BY_TICKET) || OrderCloseTime()==0)
      return(false);
   if(MtbUtcMs((ulong)OrderCloseTime()*1000)+1000<since_ms)
      return(false);
   string symbol=OrderSymbol();
   r.ok=true;
   r.retcode=MTB_RC_DONE;
   r.ticket=ticket;
   r.price=MtbNormPrice(symbol,OrderClosePrice());
   r.volume=MtbNormVolume(symbol,OrderLots());
   r.time=MtbUtcMs((ulong)OrderCloseTime()*1000);
   r.message="recovered from the order history";
   return(true);
  }

void MtbExecutor::DoOpen(const MtbInbound &c,MtbResult &r)
  {
   if(StringLen(c.comment)>MTB_COMMENT_MAX)
     { Refuse(r,MTB_RC_INVALID,"comment longer than 31 characters cannot be kept exactly"); return; }
   if(c.magic<INT_MIN || c.magic>INT_MAX)
     { Refuse(r,MTB_RC_INVALID,"magic does not fit an MT4 int"); return; }
   if(!SymbolSelect(c.symbol,true))
     { Refuse(r,MTB_RC_INVALID,StringFormat("unknown symbol %s (error %d)",c.symbol,GetLastError())); return; }
   double volume=MtbNormVolume(c.symbol,c.volume);
   if(MathAbs(volume-c.volume)>1e-9 || volume<MarketInfo(c.symbol,MODE_MINLOT) || volume>MarketInfo(c.symbol,MODE_MAXLOT))
     { Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g does not fit the symbol's lot step/min/max",c.volume)); return; }
   int cmd=(c.side=="buy") ? OP_BUY : OP_SELL;
   double sl=MtbNormPrice(c.symbol,c.sl);
   double tp=MtbNormPrice(c.symbol,c.tp);
   int err=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      RefreshRates();
      double price=MtbNormPrice(c.symbol,(cmd==OP_BUY) ? MarketInfo(c.symbol,MODE_ASK) : MarketInfo(c.symbol,MODE_BID));
      ResetLastError();
      int ticket=OrderSend(c.symbol,cmd,volume,price,m_slippage,sl,tp,c.comment,(int)c.magic,0,clrNONE);
      if(ticket>0 && OrderSelect(ticket,SELECT_BY_TICKET))
        {
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.ticket=(ulong)ticket;
         r.price=MtbNormPrice(c.symbol,OrderOpenPrice());
         r.volume=MtbNormVolume(c.symbol,OrderLots());
         r.time=MtbUtcMs((ulong)OrderOpenTime()*1000);
         r.message="";
         return;
        }
      err=GetLastError();
      PrintFormat("MtBridge: open %s attempt %d/%d: OrderSend failed, error %d",c.key,attempt,m_attempts,err);
      if(!Mt4Retryable(err))
         break;
      Sleep(err==ERR_TRADE_CONTEXT_BUSY ? 200 : 100);
     }
   Refuse(r,Mt4Retcode(err),StringFormat("OrderSend error %d",err));
  }

void MtbExecutor::DoClose(const MtbInbound &c,MtbResult &r)
  {
   ulong live=m_reporter.LiveTicket(c.ticket);
   if(!OrderSelect((int)live,SELECT_BY_TICKET) || OrderCloseTime()!=0)
     { Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket)); return; }
   string symbol=OrderSymbol();
   double open=OrderLots();
   double volume=MtbNormVolume(symbol,c.volume);
   if(volume<=0.0)
     { Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g rounds to zero lots",c.volume)); return; }
   if(volume>open)
      volume=open;
   int err=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      RefreshRates();
      if(!OrderSelect((int)live,SELECT_BY_TICKET))
        {
         err=GetLastError();
         break;
        }
      double price=MtbNormPrice(symbol,(OrderType()==OP_BUY) ? MarketInfo(symbol,MODE_BID) : MarketInfo(symbol,MODE_ASK));
      ResetLastError();
      if(OrderClose((int)live,volume,price,m_slippage,clrNONE))
        {
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.ticket=c.ticket;
         r.volume=volume;
         r.price=price;
         r.time=MtbTradeUtcMs();
         if(OrderSelect((int)live,SELECT_BY_TICKET))
           {
            r.price=MtbNormPrice(symbol,OrderClosePrice());
            r.time=MtbUtcMs((ulong)OrderCloseTime()*1000);
           }
         r.message="";
         return;
        }
      err=GetLastError();
      PrintFormat("MtBridge: close %s attempt %d/%d: OrderClose failed, error %d",c.key,attempt,m_attempts,err);
      if(!Mt4Retryable(err))
         break;
      Sleep(err==ERR_TRADE_CONTEXT_BUSY ? 200 : 100);
     }
   Refuse(r,Mt4Retcode(err),StringFormat("OrderClose error %d",err));
  }

void MtbExecutor::DoModify(const MtbInbound &c,MtbResult &r)
  {
   ulong live=m_reporter.LiveTicket(c.ticket);
   if(!OrderSelect((int)live,SELECT_BY_TICKET) || OrderCloseTime()!=0)
     { Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket)); return; }
   string symbol=OrderSymbol();
   double sl=MtbNormPrice(symbol,c.sl);
   double tp=MtbNormPrice(symbol,c.tp);
   r.ticket=c.ticket;
   r.price=0.0;
   r.volume=0.0;
   r.time=MtbTradeUtcMs();
   int err=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      ResetLastError();
      if(OrderModify((int)live,OrderOpenPrice(),sl,tp,0,clrNONE))
        {
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.message="";
         return;
        }
      err=GetLastError();
      if(err==ERR_NO_RESULT)
        {
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.message="stops already set";
         return;
        }
      PrintFormat("MtBridge: modify %s attempt %d/%d: OrderModify failed, error %d",c.key,attempt,m_attempts,err);
      if(!Mt4Retryable(err))
         break;
      Sleep(err==ERR_TRADE_CONTEXT_BUSY ? 200 : 100);
     }
   Refuse(r,Mt4Retcode(err),StringFormat("OrderModify error %d",err));
  }
#endif

#endif // MTBRIDGE_EXECUTOR_MQH
