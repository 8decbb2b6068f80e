//+------------------------------------------------------------------+
//| MtBridge/ReporterMt5.mqh - MtbReporter on MT5 (included by       |
//| Reporter.mqh only): positions keyed by POSITION_IDENTIFIER, a    |
//| watch of the deal history from the last deal handled, and a      |
//| position check every second that reports what the deals missed.  |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_REPORTER_MT5_MQH
#define MTBRIDGE_REPORTER_MT5_MQH

//--- every open position; ticket = POSITION_IDENTIFIER (what DEAL_POSITION_ID refers to; the
//--- POSITION_TICKET can change on a swap rollover by re-opening), live = POSITION_TICKET
bool MtbReporter::ReadLive(MtbPosition &out[],ulong &live[])
  {
   int total=PositionsTotal();
   ArrayResize(out,0);
   ArrayResize(live,0);
   for(int i=0; i<total; i++)
     {
      ulong ticket=PositionGetTicket(i);
      if(ticket==0)
        {
         PrintFormat("MtBridge: PositionGetTicket(%d) failed, error %d",i,GetLastError());
         return(false);
        }
      int n=ArraySize(out);
      ArrayResize(out,n+1,64);
      ArrayResize(live,n+1,64);
      string symbol=PositionGetString(POSITION_SYMBOL);
      out[n].ticket=(ulong)PositionGetInteger(POSITION_IDENTIFIER);
      out[n].symbol=symbol;
      out[n].side=MtbPositionSide();
      out[n].volume=MtbNormVolume(symbol,PositionGetDouble(POSITION_VOLUME));
      out[n].price=MtbNormPrice(symbol,PositionGetDouble(POSITION_PRICE_OPEN));
      out[n].sl=MtbNormPrice(symbol,PositionGetDouble(POSITION_SL));
      out[n].tp=MtbNormPrice(symbol,PositionGetDouble(POSITION_TP));
      out[n].time=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC));
      out[n].magic=PositionGetInteger(POSITION_MAGIC);
      out[n].comment=PositionGetString(POSITION_COMMENT);
      out[n].swap=MtbNormMoney(PositionGetDouble(POSITION_SWAP));
      live[n]=ticket;
     }
   return(true);
  }

//--- the watch starts after the newest deal of the last day (older ones the snapshot covers),
//--- and never reads deals from more than a minute before its start: a terminal still loading
//--- its history at start would otherwise report old deals as new
void MtbReporter::StartWatch(void)
  {
   datetime now=MtbServerNow();
   m_from=now-86400;
   m_last_deal=0;
   if(!HistorySelect(m_from,now+86400))
      PrintFormat("MtBridge: HistorySelect failed, error %d; the deal watch starts empty",GetLastError());
   else
     {
      int total=HistoryDealsTotal();
      for(int i=0; i<total; i++)
        {
         ulong deal=HistoryDealGetTicket(i);
         if(deal>m_last_deal)
           {
            m_last_deal=deal;
            m_from=(datetime)HistoryDealGetInteger(deal,DEAL_TIME);
           }
        }
     }
   if(m_from<now-60)
      m_from=now-60;
  }

//--- DEAL_ADD: scan at once (the daemon books a close's profit from position_closed); any
//--- later transaction scans again while an opening deal waits for its order (ORDER_DELETE and
//--- HISTORY_ADD follow the last fill); POSITION: new stops. Before the welcome only the flag
//--- is set: the catch-up scans.
void MtbReporter::OnTransaction(const MqlTradeTransaction &t)
  {
   if(t.type==TRADE_TRANSACTION_DEAL_ADD)
      m_dirty=true;
   if(!m_link.IsUp())
      return;
   CatchUp();
   if(m_dirty)
     {
      m_dirty=false;
      Scan();
     }
   if(t.type==TRADE_TRANSACTION_POSITION)
      CheckStops(t.position);
  }

//--- every deal after the last one handled, in ticket order (deal tickets grow with time on
//--- the trade server). False while an opening deal waits for the rest of its order's fills.
bool MtbReporter::Scan(void)
  {
   if(!HistorySelect(m_from,MtbServerNow()+86400))
     {
      PrintFormat("MtBridge: HistorySelect failed, error %d; deals are read on the next pass",GetLastError());
      return(false);
     }
   int total=HistoryDealsTotal();
   ulong batch[];
   int n=0;
   for(int i=0; i<total; i++)
     {
      ulong deal=HistoryDealGetTicket(i);
      if(deal<=m_last_deal)
         continue;
      ArrayResize(batch,n+1,64);
      batch[n]=deal;
      n++;
     }
   if(n==0)
      return(true);
   MtbSortTickets(batch);
   bool used[];
   ArrayResize(used,n);
   for(int i=0; i<n; i++)
      used[i]=false;
   for(int i=0; i<n; i++)
     {
      if(!used[i] && OnDeal(batch[i],batch,used,i)<0)
        {
         m_dirty=true;                           // waiting for an order's fills: scan again soon
         return(false);
        }
      m_last_deal=batch[i];
      datetime at=(datetime)HistoryDealGetInteger(batch[i],DEAL_TIME);
      if(at>m_from)
         m_from=at;
      if(!m_link.IsUp())
         return(false);                          // a resync closed the link: go on after the welcome
     }
   return(true);
  }

//--- one deal: 1 = handled, -1 = wait (an order still being filled)
int MtbReporter::OnDeal(const ulong deal,const ulong &batch[],bool &used[],const int i)
  {
   long dtype=HistoryDealGetInteger(deal,DEAL_TYPE);
   if(dtype!=DEAL_TYPE_BUY && dtype!=DEAL_TYPE_SELL)
      return(1);                                 // balance, credit, commission: account_update
   long entry=HistoryDealGetInteger(deal,DEAL_ENTRY);
   ulong pos_id=(ulong)HistoryDealGetInteger(deal,DEAL_POSITION_ID);
   string symbol=HistoryDealGetString(deal,DEAL_SYMBOL);
   if(entry==DEAL_ENTRY_IN)
      return(OpenDeal(deal,pos_id,symbol,batch,used,i));
   if(entry==DEAL_ENTRY_OUT || entry==DEAL_ENTRY_OUT_BY)
     {
      CloseDeal(deal,pos_id,symbol);
      return(1);
     }
   //--- DEAL_ENTRY_INOUT: a reversal, which only a netting account makes
   Reverse(deal,pos_id,symbol);
   return(1);
  }

//--- an opening deal. An order filled in several deals is reported once, with the volume of all
//--- its deals in this batch, after the order stopped working (or MTB_FILL_WAIT_MS). When the
//--- position is not selectable yet (DEAL_ADD arrives first) or already closed again, the deal's
//--- own price, stops, time and comment describe it.
int MtbReporter::OpenDeal(const ulong deal,const ulong pos_id,const string symbol,const ulong &batch[],
                          bool &used[],const int i)
  {
   int k=Find(pos_id);
   if(k>=0 && m_netting)
     {
      Grow(deal,k,symbol);                       // netting: a deal that added to the position
      return(1);
     }
   if(k>=0)
     {
      //--- reported already (by the position check, or an earlier part of the fill): only a
      //--- volume the daemon was not told about is an inconsistency
      if(MtbSelectPositionById(pos_id))
        {
         double now_volume=MtbNormVolume(symbol,PositionGetDouble(POSITION_VOLUME));
         if(now_volume>m_pos[k].p.volume)
           {
            Resync(StringFormat("position %I64u grew to %g lots after it was reported with %g",pos_id,now_volume,
                                m_pos[k].p.volume));
            return(1);
           }
        }
      return(1);
     }
   ulong order=(ulong)HistoryDealGetInteger(deal,DEAL_ORDER);
   if(order!=0 && OrderSelect(order))
     {
      ulong now=MtbNowMs();
      if(m_wait_deal!=deal)
        {
         m_wait_deal=deal;
         m_wait_since=now;
        }
      if(now<m_wait_since+MTB_FILL_WAIT_MS)
         return(-1);
     }
   //--- the volume of every opening deal of this position in the batch, up to its first close
   double volume=0.0;
   for(int j=i; j<ArraySize(batch); j++)
     {
      if(used[j])
         continue;
      if((ulong)HistoryDealGetInteger(batch[j],DEAL_POSITION_ID)!=pos_id)
         continue;
      long entry=HistoryDealGetInteger(batch[j],DEAL_ENTRY);
      if(entry!=DEAL_ENTRY_IN)
         break;
      volume+=HistoryDealGetDouble(batch[j],DEAL_VOLUME);
      if(j>i)
         used[j]=true;
     }
   MtbPosition p;
   p.ticket=pos_id;
   p.symbol=symbol;
   p.side=MtbDealSide(deal);
   p.volume=MtbNormVolume(symbol,volume);
   ulong live=pos_id;
   if(MtbSelectPositionById(pos_id))
     {
      live=(ulong)PositionGetInteger(POSITION_TICKET);
      p.price=MtbNormPrice(symbol,PositionGetDouble(POSITION_PRICE_OPEN));
      p.sl=MtbNormPrice(symbol,PositionGetDouble(POSITION_SL));
      p.tp=MtbNormPrice(symbol,PositionGetDouble(POSITION_TP));
      p.time=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC));
      p.magic=PositionGetInteger(POSITION_MAGIC);
      p.comment=PositionGetString(POSITION_COMMENT);
      p.swap=MtbNormMoney(PositionGetDouble(POSITION_SWAP));
     }
   else
     {
      p.price=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_PRICE));
      p.sl=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_SL));
      p.tp=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_TP));
      p.time=MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC));
      p.magic=HistoryDealGetInteger(deal,DEAL_MAGIC);
      p.comment=HistoryDealGetString(deal,DEAL_COMMENT);
      p.swap=0.0;
     }
   Add(p,live);
   ReportOpened(p);
   return(1);
  }

//--- a closing deal of a reported position: closed volume, what remains (by the volumes
//--- reported, so deals read in one batch stay consistent), price, time, reason, net profit
void MtbReporter::CloseDeal(const ulong deal,const ulong pos_id,const string symbol)
  {
   int k=Find(pos_id);
   if(k<0)
     {
      PrintFormat("MtBridge: closing deal %I64u of position %I64u, which was never reported (the snapshot covered it)",
                  deal,pos_id);
      return;
     }
   double tracked=m_pos[k].p.volume;
   double volume=MtbNormVolume(symbol,HistoryDealGetDouble(deal,DEAL_VOLUME));
   double closed=(volume<tracked) ? volume : tracked;
   double remaining=MtbNormVolume(symbol,tracked-closed);
   long why=HistoryDealGetInteger(deal,DEAL_REASON);
   string reason="client";
   if(why==DEAL_REASON_SL)
      reason="sl";
   else if(why==DEAL_REASON_TP)
      reason="tp";
   else if(why==DEAL_REASON_SO)
      reason="so";
   double profit=HistoryDealGetDouble(deal,DEAL_PROFIT)+HistoryDealGetDouble(deal,DEAL_SWAP)+
                 HistoryDealGetDouble(deal,DEAL_COMMISSION)+HistoryDealGetDouble(deal,DEAL_FEE);
   ReportClosed(pos_id,closed,remaining,MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_PRICE)),
                MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC)),reason,MtbNormMoney(profit));
   if(remaining>0.0)
      m_pos[k].p.volume=remaining;
   else
      Remove(k);
  }

//--- a limit, stop or stop-limit order of the history (HistoryOrderSelect replaces only the
//--- history's order list: the deal scan's deals stay selected)
bool MtbIsPendingOrder(const ulong order)
  {
   if(order==0 || !HistoryOrderSelect(order))
      return(false);
   long type=HistoryOrderGetInteger(order,ORDER_TYPE);
   return(type>=ORDER_TYPE_BUY_LIMIT && type<=ORDER_TYPE_SELL_STOP_LIMIT);
  }

//--- netting: a deal that added to a reported position -> position_opened again, same ticket, with
//--- the position's volume after it and the deal's price and time (docs/protocol.md, hello,
//--- "Netting accounts"). A deal the position check reported already is counted twice here, and
//--- the check then reports the excess closed (it shrank without a deal): the daemon's net is right.
void MtbReporter::Grow(const ulong deal,const int k,const string symbol)
  {
   m_pos[k].p.volume=MtbNormVolume(symbol,m_pos[k].p.volume+HistoryDealGetDouble(deal,DEAL_VOLUME));
   MtbPosition p;
   p.ticket=m_pos[k].p.ticket;
   p.symbol=symbol;
   p.side=m_pos[k].p.side;
   p.volume=m_pos[k].p.volume;
   p.price=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_PRICE));
   p.sl=m_pos[k].p.sl;
   p.tp=m_pos[k].p.tp;
   p.time=MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC));
   p.magic=m_pos[k].p.magic;
   p.comment=m_pos[k].p.comment;
   p.swap=m_pos[k].p.swap;
   ulong order=(ulong)HistoryDealGetInteger(deal,DEAL_ORDER);
   if(MtbIsPendingOrder(order))
     {
      ReportFilled(order,p);
      return;
     }
   ReportOpened(p);
  }

//--- netting: a pending order's fill that added to the position -> order_filled with the same
//--- figures as Grow's position_opened (docs/protocol.md, order_filled), so the daemon fills the
//--- order (its copy orders become the new leg's copies). The order watch's own report of it
//--- comes later with this volume or less, which moves nothing. It goes through the re-send ring
//--- like every report; after a reconnect a netting account's hello drops the ring (its hello
//--- snapshot and the orders snapshot cover it: Reporter.mqh, SendHello).
void MtbReporter::ReportFilled(const ulong order,const MtbPosition &p)
  {
   MtbReport r;
   r.kind=MTB_REPORT_ORDER_FILLED;
   r.p=p;
   r.p.ticket=order;
   r.position=p.ticket;
   Emit(r);
  }

//--- netting: a deal through zero (DEAL_ENTRY_INOUT) closes the reported volume and re-opens the
//--- rest of the deal on its side under the same ticket: position_closed, then position_opened
void MtbReporter::Reverse(const ulong deal,const ulong pos_id,const string symbol)
  {
   double rest=MtbNormVolume(symbol,HistoryDealGetDouble(deal,DEAL_VOLUME));
   int k=Find(pos_id);
   if(k>=0)
     {
      rest=MtbNormVolume(symbol,rest-m_pos[k].p.volume);
      CloseDeal(deal,pos_id,symbol);
     }
   if(rest<=0.0)
      return;
   MtbPosition p;
   p.ticket=pos_id;
   p.symbol=symbol;
   p.side=MtbDealSide(deal);
   p.volume=rest;
   p.price=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_PRICE));
   p.sl=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_SL));
   p.tp=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_TP));
   p.time=MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC));
   p.magic=HistoryDealGetInteger(deal,DEAL_MAGIC);
   p.comment=HistoryDealGetString(deal,DEAL_COMMENT);
   p.swap=0.0;
   ulong live=pos_id;
   if(MtbSelectPositionById(pos_id))
      live=(ulong)PositionGetInteger(POSITION_TICKET);
   Add(p,live);
   ReportOpened(p);
  }

//--- new stops of a position (TRADE_TRANSACTION_POSITION names its current ticket)
void MtbReporter::CheckStops(const ulong ticket)
  {
   if(!PositionSelectByTicket(ticket))
      return;
   int k=Find((ulong)PositionGetInteger(POSITION_IDENTIFIER));
   if(k<0)
      return;
   string symbol=m_pos[k].p.symbol;
   double sl=MtbNormPrice(symbol,PositionGetDouble(POSITION_SL));
   double tp=MtbNormPrice(symbol,PositionGetDouble(POSITION_TP));
   double swap=MtbNormMoney(PositionGetDouble(POSITION_SWAP));
   m_pos[k].live=ticket;
   if(sl==m_pos[k].p.sl && tp==m_pos[k].p.tp && swap==m_pos[k].p.swap)
      return;
   m_pos[k].p.sl=sl;
   m_pos[k].p.tp=tp;
   m_pos[k].p.swap=swap;
   ReportModified(m_pos[k].p.ticket,sl,tp,MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_UPDATE_MSC)),swap);
  }

bool MtbReporter::WasMissing(const ulong id) const
  {
   for(int j=0; j<ArraySize(m_missing); j++)
      if(m_missing[j]==id)
         return(true);
   return(false);
  }

//--- after a full scan: what the deals did not explain. A position missing from the cache in
//--- two checks in a row -> position_opened; new stops -> position_modified; a position that
//--- vanished or shrank without a closing deal, in two checks -> position_closed. Only a
//--- volume that grew without a deal is a real inconsistency (resync).
void MtbReporter::CheckPositions(void)
  {
   MtbPosition list[];
   ulong live[];
   if(!ReadLive(list,live))
      return;
   for(int k=0; k<m_n; k++)
      m_pos[k].seen=false;
   ulong missing[];
   int nm=0;
   for(int i=0; i<ArraySize(list); i++)
     {
      int k=Find(list[i].ticket);
      if(k<0)
        {
         if(WasMissing(list[i].ticket))
           {
            PrintFormat("MtBridge: position %I64u has no opening deal in the history; reported from the position",
                        list[i].ticket);
            Add(list[i],live[i]);
            ReportOpened(list[i]);
           }
         else
           {
            ArrayResize(missing,nm+1,16);
            missing[nm]=list[i].ticket;
            nm++;
           }
         continue;
        }
      m_pos[k].seen=true;
      m_pos[k].live=live[i];
      //--- new stops, or a swap change alone (the rollover): position_modified
      if(list[i].sl!=m_pos[k].p.sl || list[i].tp!=m_pos[k].p.tp || list[i].swap!=m_pos[k].p.swap)
        {
         m_pos[k].p.sl=list[i].sl;
         m_pos[k].p.tp=list[i].tp;
         m_pos[k].p.swap=list[i].swap;
         ulong at=MtbNowMs();
         if(PositionSelectByTicket(live[i]))
            at=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_UPDATE_MSC));
         ReportModified(m_pos[k].p.ticket,list[i].sl,list[i].tp,at,list[i].swap);
        }
      if(list[i].volume==m_pos[k].p.volume)
        {
         m_pos[k].odd=0;
         continue;
        }
      m_pos[k].odd++;
      if(m_pos[k].odd<2)
         continue;
      if(list[i].volume>m_pos[k].p.volume)
        {
         Resync(StringFormat("position %I64u holds %g lots, %g reported, and no deal explains it",list[i].ticket,
                             list[i].volume,m_pos[k].p.volume));
         return;
        }
      //--- shrank without a closing deal in the history: the close price is the current one
      double closed=MtbNormVolume(list[i].symbol,m_pos[k].p.volume-list[i].volume);
      double price=0.0;
      if(PositionSelectByTicket(live[i]))
         price=MtbNormPrice(list[i].symbol,PositionGetDouble(POSITION_PRICE_CURRENT));
      PrintFormat("MtBridge: position %I64u shrank by %g lots without a closing deal; reported at the current price",
                  list[i].ticket,closed);
      ReportClosed(m_pos[k].p.ticket,closed,list[i].volume,price,MtbNowMs(),"client",0.0);
      m_pos[k].p.volume=list[i].volume;
      m_pos[k].odd=0;
     }
   ArrayResize(m_missing,nm);
   for(int j=0; j<nm; j++)
      m_missing[j]=missing[j];
   for(int k=m_n-1; k>=0; k--)
     {
      if(m_pos[k].seen)
         continue;
      m_pos[k].odd++;
      if(m_pos[k].odd>=2)
         ClosedUnseen(k);
     }
  }

//--- a reported position that is gone although no closing deal was read: its last closing deal
//--- from HistorySelectByPosition when the terminal has it, else the current time and price 0
void MtbReporter::ClosedUnseen(const int k)
  {
   ulong id=m_pos[k].p.ticket;
   string symbol=m_pos[k].p.symbol;
   double price=0.0;
   double profit=0.0;
   ulong at=MtbNowMs();
   string reason="client";
   if(HistorySelectByPosition(id))
     {
      for(int i=HistoryDealsTotal()-1; i>=0; i--)
        {
         ulong deal=HistoryDealGetTicket(i);
         long entry=HistoryDealGetInteger(deal,DEAL_ENTRY);
         if(entry!=DEAL_ENTRY_OUT && entry!=DEAL_ENTRY_OUT_BY)
            continue;
         price=MtbNormPrice(symbol,HistoryDealGetDouble(deal,DEAL_PRICE));
         profit=MtbNormMoney(HistoryDealGetDouble(deal,DEAL_PROFIT)+HistoryDealGetDouble(deal,DEAL_SWAP)+
                             HistoryDealGetDouble(deal,DEAL_COMMISSION)+HistoryDealGetDouble(deal,DEAL_FEE));
         at=MtbUtcMs((ulong)HistoryDealGetInteger(deal,DEAL_TIME_MSC));
         long why=HistoryDealGetInteger(deal,DEAL_REASON);
         if(why==DEAL_REASON_SL)
            reason="sl";
         else if(why==DEAL_REASON_TP)
            reason="tp";
         else if(why==DEAL_REASON_SO)
            reason="so";
         break;
        }
     }
   PrintFormat("MtBridge: position %I64u is gone and no closing deal was read; reported closed (%g lots)",id,
               m_pos[k].p.volume);
   ReportClosed(id,m_pos[k].p.volume,0.0,price,at,reason,profit);
   Remove(k);
  }

#endif // MTBRIDGE_REPORTER_MT5_MQH
