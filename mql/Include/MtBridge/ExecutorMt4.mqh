//+------------------------------------------------------------------+
//| MtBridge/ExecutorMt4.mqh - the MT4 half of MtbExecutor:          |
//| OrderSend/OrderClose/OrderModify with bounded retries on requote |
//| (138), busy context (146), price changed (135), off quotes (136) |
//| and broker busy (137), with RefreshRates; market-execution (ECN) |
//| symbols get their stops by OrderModify after the open. Searches  |
//| in the order pool and history, following partial-close chains   |
//| ("to #N" comments). Included by Executor.mqh under __MQL4__ only.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_EXECUTOR_MT4_MQH
#define MTBRIDGE_EXECUTOR_MT4_MQH

#ifdef __MQL4__

bool MtbExecutor::Mt4Retryable(const int err)
  {
   return(err==ERR_REQUOTE || err==ERR_TRADE_CONTEXT_BUSY || err==ERR_PRICE_CHANGED ||
          err==ERR_OFF_QUOTES || err==ERR_BROKER_BUSY);
  }

//--- the request may have executed: trade timeout, no connection, or a failure without an error
bool MtbExecutor::Mt4Unknown(const int err)
  {
   return(err==ERR_TRADE_TIMEOUT || err==ERR_NO_CONNECTION || err==ERR_NO_ERROR);
  }

long MtbExecutor::Mt4Retcode(const int err)
  {
   switch(err)
     {
      case ERR_NO_ERROR:             return(MTB_RC_ERROR);     // failed without a reason (outcome unknown)
      case ERR_REQUOTE:              return(MTB_RC_REQUOTE);
      case ERR_PRICE_CHANGED:        return(MTB_RC_PRICE_CHANGED);
      case ERR_OFF_QUOTES:           return(MTB_RC_PRICE_OFF);
      case ERR_INVALID_PRICE:        return(MTB_RC_INVALID_PRICE);
      case ERR_INVALID_STOPS:        return(MTB_RC_INVALID_STOPS);
      case ERR_INVALID_TRADE_VOLUME: return(MTB_RC_INVALID_VOLUME);
      case ERR_MARKET_CLOSED:        return(MTB_RC_MARKET_CLOSED);
      case ERR_TRADE_DISABLED:       return(MTB_RC_TRADE_DISABLED);
      case ERR_NOT_ENOUGH_MONEY:     return(MTB_RC_NO_MONEY);
      case ERR_TRADE_CONTEXT_BUSY:   return(MTB_RC_TOO_MANY);
      case ERR_BROKER_BUSY:          return(MTB_RC_TOO_MANY);
      case ERR_TOO_MANY_REQUESTS:    return(MTB_RC_TOO_MANY);
      case ERR_NO_RESULT:            return(MTB_RC_NO_CHANGES);
      case ERR_INVALID_TICKET:       return(MTB_RC_POSITION_CLOSED);
      case ERR_TRADE_TIMEOUT:        return(MTB_RC_TIMEOUT);
      case ERR_NO_CONNECTION:        return(MTB_RC_CONNECTION);
      case ERR_TRADE_NOT_ALLOWED:    return(MTB_RC_AUTOTRADING_OFF);
     }
   return(MTB_RC_ERROR);
  }

//--- the open ticket of the position the daemon knows as `ticket` (the first of its partial-close
//--- chain): the reporter's cache, else the chain walked through the history; 0 = not open
ulong MtbExecutor::Mt4Live(const ulong ticket)
  {
   ulong live=m_reporter.LiveTicket(ticket);
   if(OrderSelect((int)live,SELECT_BY_TICKET) && OrderCloseTime()==0)
      return(live);
   ulong t=ticket;
   for(int hop=0; hop<MTB_CHAIN_MAX && t>0; hop++)
     {
      if(!OrderSelect((int)t,SELECT_BY_TICKET))
         return(0);
      if(OrderCloseTime()==0)
         return(t);
      t=MtbMt4Remainder(OrderComment());
     }
   return(0);
  }

//--- the order a key-store ticket names, open or closed, if it carries the magic
bool MtbExecutor::OpenedTicket(const ulong ticket,const long magic,MtbResult &r)
  {
   if(!OrderSelect((int)ticket,SELECT_BY_TICKET) || OrderMagicNumber()!=magic)
      return(false);
   string symbol=OrderSymbol();
   r.ok=true;
   r.retcode=MTB_RC_DONE;
   r.ticket=ticket;
   r.price=MtbNormPrice(symbol,OrderOpenPrice());
   r.volume=MtbNormVolume(symbol,OrderLots());
   r.time=MtbUtcMs((ulong)OrderOpenTime()*1000);
   r.message="";
   return(true);
  }

//--- a market order, or (from > 0) a history order opened since `from`, carrying the tag. A closed
//--- order's comment may have a "[sl]"/"[tp]" suffix after the tag; a partial close replaces it
//--- ("to #N"), which the key store and FindUntagged cover.
bool MtbExecutor::FindTagged(const long magic,const string comment,const datetime from,MtbResult &r)
  {
   for(int pass=0; pass<2; pass++)
     {
      if(pass==1 && from<=0)
         break;
      int pool=(pass==0) ? MODE_TRADES : MODE_HISTORY;
      int total=(pass==0) ? OrdersTotal() : OrdersHistoryTotal();
      for(int i=total-1; i>=0; i--)
        {
         if(!OrderSelect(i,SELECT_BY_POS,pool))
            continue;
         if((OrderType()!=OP_BUY && OrderType()!=OP_SELL) || OrderMagicNumber()!=magic)
            continue;
         if(pass==1 && OrderOpenTime()<from)
            continue;
         if(OrderComment()!=comment && StringFind(OrderComment(),comment)!=0)
            continue;
         OpenedTicket((ulong)OrderTicket(),magic,r);
         r.message=(pass==0) ? "recovered from the position's tag" : "recovered from the order history";
         return(true);
        }
     }
   return(false);
  }

//--- the tag was lost (partial close "to #N" / "from #N", or the broker rewrote it): an order with
//--- the key's magic, symbol and side opened after the key went pending and not another key's.
//--- The first order of a chain is the one the daemon knows; its lots are the closed part, so the
//--- volume is compared only on an order that was not split.
bool MtbExecutor::FindUntagged(const MtbJournalEntry &e,MtbResult &r)
  {
   ulong since=(e.at_ms>MTB_CLOSE_SLACK_MS) ? e.at_ms-MTB_CLOSE_SLACK_MS : 0;
   int cmd=(e.side=="buy") ? OP_BUY : OP_SELL;
   for(int pass=0; pass<2; pass++)
     {
      int pool=(pass==0) ? MODE_TRADES : MODE_HISTORY;
      int total=(pass==0) ? OrdersTotal() : OrdersHistoryTotal();
      for(int i=total-1; i>=0; i--)
        {
         if(!OrderSelect(i,SELECT_BY_POS,pool))
            continue;
         if(OrderType()!=cmd || OrderMagicNumber()!=e.magic || OrderSymbol()!=e.symbol)
            continue;
         string comment=OrderComment();
         if(MtbMt4Parent(comment)>0)
            continue;   // a remainder: its chain's first order is in the history
         bool split=(MtbMt4Remainder(comment)>0);
         if(!split && !MtbSameVolume(e.symbol,OrderLots(),e.volume))
            continue;
         ulong ticket=(ulong)OrderTicket();
         if(MtbUtcMs((ulong)OrderOpenTime()*1000)<since || m_journal.TicketClaimed(ticket,e.key))
            continue;
         OpenedTicket(ticket,e.magic,r);
         r.message="recovered from magic, symbol, side, volume and open time";
         return(true);
        }
     }
   return(false);
  }

//--- the close of a pending close: walk the chain from the ticket the daemon knows; the first
//--- order closed by a request at or after the pending time whose lots are the command's volume
//--- (or fewer, when it closed what was left) is it
bool MtbExecutor::FindCloseSince(const ulong ticket,const ulong since_ms,const double volume,MtbResult &r)
  {
   ulong t=ticket;
   for(int hop=0; hop<MTB_CHAIN_MAX && t>0; hop++)
     {
      if(!OrderSelect((int)t,SELECT_BY_TICKET) || OrderCloseTime()==0)
         return(false);
      string comment=OrderComment();
      ulong next=MtbMt4Remainder(comment);
      string symbol=OrderSymbol();
      double lots=OrderLots();
      ulong closed_ms=MtbUtcMs((ulong)OrderCloseTime()*1000);
      bool closed_rest=(next==0 && lots<volume);
      if(closed_ms+MTB_CLOSE_SLACK_MS>=since_ms && MtbMt4CloseReason(comment)=="client" &&
         (volume<=0.0 || MtbSameVolume(symbol,lots,volume) || closed_rest))
        {
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.ticket=ticket;
         r.price=MtbNormPrice(symbol,OrderClosePrice());
         r.volume=MtbNormVolume(symbol,lots);
         r.time=closed_ms;
         r.message="recovered from the order history";
         return(true);
        }
      t=next;
     }
   return(false);
  }

//--- stops after a market-execution open (many brokers reject 130 for stops in OrderSend there).
//--- The position is open whatever happens here: a failure is reported in the message only.
void MtbExecutor::Mt4SetStops(const int ticket,const double sl,const double tp,MtbResult &r)
  {
   int err=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      if(!OrderSelect(ticket,SELECT_BY_TICKET))
         break;
      ResetLastError();
      if(OrderModify(ticket,OrderOpenPrice(),sl,tp,0,clrNONE))
         return;
      err=GetLastError();
      PrintFormat("MtBridge: stops of #%d attempt %d/%d: OrderModify failed, error %d",ticket,attempt,m_attempts,err);
      if(!Mt4Retryable(err))
         break;
      Sleep(err==ERR_TRADE_CONTEXT_BUSY ? 200 : 100);
     }
   r.message=StringFormat("opened without stops: OrderModify error %d on this market-execution symbol",err);
  }

int MtbExecutor::DoOpen(const MtbInbound &c,MtbResult &r)
  {
   double volume=MtbNormVolume(c.symbol,c.volume);
   if(MathAbs(volume-c.volume)>1e-9 || volume<MarketInfo(c.symbol,MODE_MINLOT) || volume>MarketInfo(c.symbol,MODE_MAXLOT))
     {
      Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g does not fit the symbol's lot step/min/max",c.volume));
      return(MTB_OUT_REFUSED);
     }
   int cmd=(c.side=="buy") ? OP_BUY : OP_SELL;
   double sl=MtbNormPrice(c.symbol,c.sl);
   double tp=MtbNormPrice(c.symbol,c.tp);
   //--- market execution (ECN): open without stops, then set them
   bool market=(SymbolInfoInteger(c.symbol,SYMBOL_TRADE_EXEMODE)==SYMBOL_TRADE_EXECUTION_MARKET);
   int err=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      RefreshRates();
      double price=MtbNormPrice(c.symbol,(cmd==OP_BUY) ? MarketInfo(c.symbol,MODE_ASK) : MarketInfo(c.symbol,MODE_BID));
      ResetLastError();
      int ticket=OrderSend(c.symbol,cmd,volume,price,m_slippage,market ? 0.0 : sl,market ? 0.0 : tp,c.comment,
                           (int)c.magic,0,clrNONE);
      if(ticket>0)
        {
         r.message="";
         if(market && (sl!=0.0 || tp!=0.0))
            Mt4SetStops(ticket,sl,tp,r);
         string stops=r.message;
         if(!OpenedTicket((ulong)ticket,(long)c.magic,r))
           {
            //--- opened, but not selectable yet: answer from the request
            r.ok=true;
            r.retcode=MTB_RC_DONE;
            r.ticket=(ulong)ticket;
            r.price=price;
            r.volume=volume;
            r.time=MtbTradeUtcMs();
           }
         r.message=stops;
         return(MTB_OUT_DONE);
        }
      err=GetLastError();
      PrintFormat("MtBridge: open %s attempt %d/%d: OrderSend failed, error %d",c.key,attempt,m_attempts,err);
      if(!Mt4Retryable(err))
         break;
      Sleep(err==ERR_TRADE_CONTEXT_BUSY ? 200 : 100);
     }
   Refuse(r,Mt4Retcode(err),StringFormat("OrderSend error %d",err));
   return(Mt4Unknown(err) ? MTB_OUT_UNKNOWN : MTB_OUT_REFUSED);
  }

int MtbExecutor::DoClose(const MtbInbound &c,MtbResult &r)
  {
   ulong live=Mt4Live(c.ticket);
   if(live==0 || !OrderSelect((int)live,SELECT_BY_TICKET) || OrderCloseTime()!=0)
     {
      Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket));
      return(MTB_OUT_REFUSED);
     }
   string symbol=OrderSymbol();
   double open=OrderLots();
   double volume=MtbNormVolume(symbol,c.volume);
   if(volume<=0.0)
     {
      Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g rounds to zero lots",c.volume));
      return(MTB_OUT_REFUSED);
     }
   if(volume>open)
      volume=open;
   int err=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      RefreshRates();
      if(!OrderSelect((int)live,SELECT_BY_TICKET))
        {
         err=GetLastError();
         PrintFormat("MtBridge: close %s: order #%I64u cannot be selected, error %d",c.key,live,err);
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
         return(MTB_OUT_DONE);
        }
      err=GetLastError();
      PrintFormat("MtBridge: close %s attempt %d/%d: OrderClose failed, error %d",c.key,attempt,m_attempts,err);
      if(!Mt4Retryable(err))
         break;
      Sleep(err==ERR_TRADE_CONTEXT_BUSY ? 200 : 100);
     }
   Refuse(r,Mt4Retcode(err),StringFormat("OrderClose error %d",err));
   return(Mt4Unknown(err) ? MTB_OUT_UNKNOWN : MTB_OUT_REFUSED);
  }

//--- a modify is idempotent: stops already as requested = done (error 1, no result); an unknown
//--- outcome is settled by reading the stops back
int MtbExecutor::DoModify(const MtbInbound &c,MtbResult &r)
  {
   ulong live=Mt4Live(c.ticket);
   if(live==0 || !OrderSelect((int)live,SELECT_BY_TICKET) || OrderCloseTime()!=0)
     {
      Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket));
      return(MTB_OUT_REFUSED);
     }
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
      if(!OrderSelect((int)live,SELECT_BY_TICKET))
        {
         err=GetLastError();
         PrintFormat("MtBridge: modify %s: order #%I64u cannot be selected, error %d",c.key,live,err);
         break;
        }
      ResetLastError();
      if(OrderModify((int)live,OrderOpenPrice(),sl,tp,0,clrNONE))
        {
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.message="";
         return(MTB_OUT_DONE);
        }
      err=GetLastError();
      if(err==ERR_NO_RESULT)
        {
         r.ok=true;
         r.retcode=MTB_RC_DONE;
         r.message="stops already set";
         return(MTB_OUT_DONE);
        }
      PrintFormat("MtBridge: modify %s attempt %d/%d: OrderModify failed, error %d",c.key,attempt,m_attempts,err);
      if(!Mt4Retryable(err))
         break;
      Sleep(err==ERR_TRADE_CONTEXT_BUSY ? 200 : 100);
     }
   if(Mt4Unknown(err) && OrderSelect((int)live,SELECT_BY_TICKET) && OrderStopLoss()==sl && OrderTakeProfit()==tp)
     {
      r.ok=true;
      r.retcode=MTB_RC_DONE;
      r.message=StringFormat("stops set (read back after error %d)",err);
      return(MTB_OUT_DONE);
     }
   Refuse(r,Mt4Retcode(err),StringFormat("OrderModify error %d",err));
   return(Mt4Unknown(err) ? MTB_OUT_UNKNOWN : MTB_OUT_REFUSED);
  }

#endif // __MQL4__
#endif // MTBRIDGE_EXECUTOR_MT4_MQH
