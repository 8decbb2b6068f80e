//+------------------------------------------------------------------+
//| MtBridge/ExecutorMt5.mqh - the MT5 half of MtbExecutor: CTrade   |
//| requests (filling mode from SetTypeFillingBySymbol), and the     |
//| searches in positions and deal history used by recovery.         |
//| Included by Executor.mqh under __MQL5__ only. Hedging accounts   |
//| only: the investor EA refuses to start on netting (docs/mql.md). |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_EXECUTOR_MT5_MQH
#define MTBRIDGE_EXECUTOR_MT5_MQH

#ifdef __MQL5__

bool MtbRetryable(const uint rc)
  {
   return(rc==MTB_RC_REQUOTE || rc==MTB_RC_PRICE_CHANGED || rc==MTB_RC_PRICE_OFF || rc==MTB_RC_TOO_MANY);
  }

//--- the request may have executed: timed out, connection lost, a market order only placed,
//--- or OrderSend failed without a retcode
bool MtbUnknownOutcome(const uint rc)
  {
   return(rc==MTB_RC_TIMEOUT || rc==MTB_RC_CONNECTION || rc==MTB_RC_PLACED || rc==0);
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

//--- result fields from the selected position. The ticket the daemon knows is the position's
//--- identifier (every deal carries it as DEAL_POSITION_ID; POSITION_TICKET can change when a
//--- swap rollover re-opens the position)
void MtbFromPosition(MtbResult &r)
  {
   string symbol=PositionGetString(POSITION_SYMBOL);
   r.ok=true;
   r.retcode=MTB_RC_DONE;
   r.ticket=(ulong)PositionGetInteger(POSITION_IDENTIFIER);
   r.price=MtbNormPrice(symbol,PositionGetDouble(POSITION_PRICE_OPEN));
   r.volume=MtbNormVolume(symbol,PositionGetDouble(POSITION_VOLUME));
   r.time=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC));
   r.message="";
  }

//--- the position a key-store ticket names, open or in the history, if it carries the magic
bool MtbExecutor::OpenedTicket(const ulong ticket,const long magic,MtbResult &r)
  {
   if(PositionSelectByTicket(ticket) && PositionGetInteger(POSITION_MAGIC)==magic)
     {
      MtbFromPosition(r);
      return(true);
     }
   if(!HistorySelectByPosition(ticket))
      return(false);
   for(int i=0; i<HistoryDealsTotal(); i++)
     {
      ulong d=HistoryDealGetTicket(i);
      if(d>0 && HistoryDealGetInteger(d,DEAL_ENTRY)==DEAL_ENTRY_IN && HistoryDealGetInteger(d,DEAL_MAGIC)==magic)
        {
         MtbFromDeal(d,r);
         return(true);
        }
     }
   return(false);
  }

//--- a position, or (from > 0) an IN deal since `from`, whose magic and comment are the tag
bool MtbExecutor::FindTagged(const long magic,const string comment,const datetime from,MtbResult &r)
  {
   for(int i=PositionsTotal()-1; i>=0; i--)
     {
      ulong t=PositionGetTicket(i);
      if(t==0 || PositionGetInteger(POSITION_MAGIC)!=magic || PositionGetString(POSITION_COMMENT)!=comment)
         continue;
      MtbFromPosition(r);
      r.message="recovered from the position's tag";
      return(true);
     }
   if(from<=0)
      return(false);
   if(!HistorySelect(from,MtbServerNow()+86400))
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

//--- the tag was lost (the broker rewrote the comment): a position or IN deal with the key's
//--- magic, symbol, side and volume, opened after the key went pending and not another key's
bool MtbExecutor::FindUntagged(const MtbJournalEntry &e,MtbResult &r)
  {
   ulong since=(e.at_ms>MTB_CLOSE_SLACK_MS) ? e.at_ms-MTB_CLOSE_SLACK_MS : 0;
   for(int i=PositionsTotal()-1; i>=0; i--)
     {
      ulong t=PositionGetTicket(i);
      if(t==0 || PositionGetInteger(POSITION_MAGIC)!=e.magic || PositionGetString(POSITION_SYMBOL)!=e.symbol)
         continue;
      if(MtbPositionSide()!=e.side || !MtbSameVolume(e.symbol,PositionGetDouble(POSITION_VOLUME),e.volume))
         continue;
      ulong id=(ulong)PositionGetInteger(POSITION_IDENTIFIER);
      if(MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC))<since || m_journal.TicketClaimed(id,e.key))
         continue;
      MtbFromPosition(r);
      r.message="recovered from magic, symbol, side, volume and open time";
      return(true);
     }
   if(!HistorySelect(MtbServerTime(since),MtbServerNow()+86400))
     {
      PrintFormat("MtBridge: HistorySelect failed, error %d",GetLastError());
      return(false);
     }
   for(int i=0; i<HistoryDealsTotal(); i++)
     {
      ulong d=HistoryDealGetTicket(i);
      if(d==0 || HistoryDealGetInteger(d,DEAL_ENTRY)!=DEAL_ENTRY_IN || HistoryDealGetInteger(d,DEAL_MAGIC)!=e.magic)
         continue;
      if(HistoryDealGetString(d,DEAL_SYMBOL)!=e.symbol || MtbDealSide(d)!=e.side ||
         !MtbSameVolume(e.symbol,HistoryDealGetDouble(d,DEAL_VOLUME),e.volume))
         continue;
      ulong position=(ulong)HistoryDealGetInteger(d,DEAL_POSITION_ID);
      if(MtbUtcMs((ulong)HistoryDealGetInteger(d,DEAL_TIME_MSC))<since || m_journal.TicketClaimed(position,e.key))
         continue;
      MtbFromDeal(d,r);
      r.message="recovered from magic, symbol, side, volume and deal time";
      return(true);
     }
   return(false);
  }

//--- the closing deal of a pending close: the first client (not SL/TP/stop-out) OUT deal of
//--- the position at or after the pending time whose volume is the command's, or smaller when it
//--- closed what was left (a close at or above the open volume closes the whole position)
bool MtbExecutor::FindCloseSince(const ulong ticket,const ulong since_ms,const double volume,MtbResult &r)
  {
   bool still_open=PositionSelectByTicket(m_reporter.LiveTicket(ticket));
   if(!HistorySelectByPosition(ticket))
      return(false);
   int total=HistoryDealsTotal();
   int last_out=-1;
   for(int i=0; i<total; i++)
     {
      ulong d=HistoryDealGetTicket(i);
      long entry=HistoryDealGetInteger(d,DEAL_ENTRY);
      if(d>0 && (entry==DEAL_ENTRY_OUT || entry==DEAL_ENTRY_OUT_BY))
         last_out=i;
     }
   for(int i=0; i<total; i++)
     {
      ulong d=HistoryDealGetTicket(i);
      long entry=HistoryDealGetInteger(d,DEAL_ENTRY);
      if(d==0 || (entry!=DEAL_ENTRY_OUT && entry!=DEAL_ENTRY_OUT_BY))
         continue;
      long reason=HistoryDealGetInteger(d,DEAL_REASON);
      if(reason==DEAL_REASON_SL || reason==DEAL_REASON_TP || reason==DEAL_REASON_SO)
         continue;
      if(MtbUtcMs((ulong)HistoryDealGetInteger(d,DEAL_TIME_MSC))+MTB_CLOSE_SLACK_MS<since_ms)
         continue;
      string symbol=HistoryDealGetString(d,DEAL_SYMBOL);
      double v=HistoryDealGetDouble(d,DEAL_VOLUME);
      bool closed_rest=(!still_open && i==last_out && v<volume);
      if(volume>0.0 && !MtbSameVolume(symbol,v,volume) && !closed_rest)
         continue;
      MtbFromDeal(d,r);
      r.ticket=ticket;
      r.message="recovered from the deal history";
      return(true);
     }
   return(false);
  }

int MtbExecutor::DoOpen(const MtbInbound &c,MtbResult &r)
  {
   double volume=MtbNormVolume(c.symbol,c.volume);
   if(MathAbs(volume-c.volume)>1e-9 || volume<SymbolInfoDouble(c.symbol,SYMBOL_VOLUME_MIN) ||
      volume>SymbolInfoDouble(c.symbol,SYMBOL_VOLUME_MAX))
     {
      Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g does not fit the symbol's lot step/min/max",c.volume));
      return(MTB_OUT_REFUSED);
     }
   CTrade trade;
   trade.SetExpertMagicNumber((ulong)c.magic);
   trade.SetDeviationInPoints((ulong)m_slippage);
   //--- FOK, else IOC; neither: CTrade keeps its default and fixes it per request (FillingCheck)
   trade.SetTypeFillingBySymbol(c.symbol);
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
         r.time=MtbTradeUtcMs();
         if(deal>0 && HistoryDealSelect(deal))
           {
            r.ticket=(ulong)HistoryDealGetInteger(deal,DEAL_POSITION_ID);
            r.time=MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC));
           }
         r.price=MtbNormPrice(c.symbol,trade.ResultPrice());
         r.volume=MtbNormVolume(c.symbol,trade.ResultVolume());
         r.message=trade.ResultComment();
         return(MTB_OUT_DONE);
        }
      PrintFormat("MtBridge: open %s attempt %d/%d: retcode %u %s, error %d",c.key,attempt,m_attempts,rc,
                  trade.ResultRetcodeDescription(),GetLastError());
      if(!MtbRetryable(rc))
         break;
      Sleep(100);
     }
   Refuse(r,(long)rc,trade.ResultRetcodeDescription());
   return(MtbUnknownOutcome(rc) ? MTB_OUT_UNKNOWN : MTB_OUT_REFUSED);
  }

int MtbExecutor::DoClose(const MtbInbound &c,MtbResult &r)
  {
   ulong ticket=m_reporter.LiveTicket(c.ticket);
   if(!PositionSelectByTicket(ticket))
     {
      Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket));
      return(MTB_OUT_REFUSED);
     }
   string symbol=PositionGetString(POSITION_SYMBOL);
   double open=PositionGetDouble(POSITION_VOLUME);
   double volume=MtbNormVolume(symbol,c.volume);
   if(volume<=0.0)
     {
      Refuse(r,MTB_RC_INVALID_VOLUME,StringFormat("volume %.8g rounds to zero lots",c.volume));
      return(MTB_OUT_REFUSED);
     }
   CTrade trade;
   trade.SetExpertMagicNumber((ulong)PositionGetInteger(POSITION_MAGIC));
   trade.SetDeviationInPoints((ulong)m_slippage);
   trade.SetTypeFillingBySymbol(symbol);
   uint rc=0;
   for(int attempt=1; attempt<=m_attempts; attempt++)
     {
      //--- hedging only (netting refused at start): PositionClosePartial works per ticket
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
         r.time=(deal>0 && HistoryDealSelect(deal)) ? MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC)) :
                MtbTradeUtcMs();
         r.message=trade.ResultComment();
         return(MTB_OUT_DONE);
        }
      PrintFormat("MtBridge: close %s attempt %d/%d: retcode %u %s, error %d",c.key,attempt,m_attempts,rc,
                  trade.ResultRetcodeDescription(),GetLastError());
      if(!MtbRetryable(rc))
         break;
      Sleep(100);
     }
   Refuse(r,(long)rc,trade.ResultRetcodeDescription());
   return(MtbUnknownOutcome(rc) ? MTB_OUT_UNKNOWN : MTB_OUT_REFUSED);
  }

//--- a modify is idempotent: stops already as requested = done; an unknown outcome is settled
//--- by reading the stops back
int MtbExecutor::DoModify(const MtbInbound &c,MtbResult &r)
  {
   ulong ticket=m_reporter.LiveTicket(c.ticket);
   if(!PositionSelectByTicket(ticket))
     {
      Refuse(r,MTB_RC_POSITION_CLOSED,StringFormat("position %I64u is not open",c.ticket));
      return(MTB_OUT_REFUSED);
     }
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
      return(MTB_OUT_DONE);
     }
   CTrade trade;
   if(trade.PositionModify(ticket,sl,tp) && trade.ResultRetcode()==MTB_RC_DONE)
     {
      r.ok=true;
      r.retcode=MTB_RC_DONE;
      r.message="";
      return(MTB_OUT_DONE);
     }
   uint rc=trade.ResultRetcode();
   PrintFormat("MtBridge: modify %s: retcode %u %s, error %d",c.key,rc,trade.ResultRetcodeDescription(),GetLastError());
   if(MtbUnknownOutcome(rc) && PositionSelectByTicket(ticket) &&
      PositionGetDouble(POSITION_SL)==sl && PositionGetDouble(POSITION_TP)==tp)
     {
      r.ok=true;
      r.retcode=MTB_RC_DONE;
      r.message=StringFormat("stops set (read back after retcode %u)",rc);
      return(MTB_OUT_DONE);
     }
   Refuse(r,(long)rc,trade.ResultRetcodeDescription());
   return(MtbUnknownOutcome(rc) ? MTB_OUT_UNKNOWN : MTB_OUT_REFUSED);
  }

#endif // __MQL5__
#endif // MTBRIDGE_EXECUTOR_MT5_MQH
