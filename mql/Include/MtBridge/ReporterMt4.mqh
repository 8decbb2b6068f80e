//+------------------------------------------------------------------+
//| MtBridge/ReporterMt4.mqh - MtbReporter on MT4 (included by       |
//| Reporter.mqh only): a diff of the order pool every timer tick.   |
//| A partial close gives the remainder a new ticket ("to #N" on the |
//| closed part, "from #M" on the remainder); a close-by with unequal|
//| lots re-opens the remainder as a new ticket with the original's  |
//| symbol, type and open time. Both stay reported under the chain's |
//| first ticket.                                                    |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_REPORTER_MT4_MQH
#define MTBRIDGE_REPORTER_MT4_MQH

void MtbPushTicket(ulong &list[],const ulong ticket)
  {
   int n=ArraySize(list);
   ArrayResize(list,n+1,16);
   list[n]=ticket;
  }

bool MtbHasTicket(const ulong &list[],const ulong ticket)
  {
   for(int j=0; j<ArraySize(list); j++)
      if(list[j]==ticket)
         return(true);
   return(false);
  }

//--- first ticket of a partial-close chain ("from #N" comments), and that ticket's comment
ulong MtbReporter::RootTicket(const ulong live,string &root_comment)
  {
   ulong t=live;
   root_comment="";
   for(int guard=0; guard<MTB_CHAIN_MAX; guard++)
     {
      if(!OrderSelect((int)t,SELECT_BY_TICKET))
         return(t);
      root_comment=OrderComment();
      ulong parent=MtbMt4Parent(root_comment);
      if(parent==0)
         return(t);
      t=parent;
     }
   PrintFormat("MtBridge: partial-close chain of ticket %I64u is longer than %d",live,MTB_CHAIN_MAX);
   return(t);
  }

//--- the position fields of one order, from the pool or the history
bool MtbReporter::ReadOrder(const ulong ticket,MtbPosition &p)
  {
   if(!OrderSelect((int)ticket,SELECT_BY_TICKET))
      return(false);
   string symbol=OrderSymbol();
   p.ticket=ticket;
   p.symbol=symbol;
   p.side=MtbMt4Side(OrderType());
   p.volume=MtbNormVolume(symbol,OrderLots());
   p.price=MtbNormPrice(symbol,OrderOpenPrice());
   p.sl=MtbNormPrice(symbol,OrderStopLoss());
   p.tp=MtbNormPrice(symbol,OrderTakeProfit());
   p.time=MtbUtcMs((ulong)OrderOpenTime()*1000);
   p.magic=OrderMagicNumber();
   p.comment=OrderComment();
   p.swap=MtbNormMoney(OrderSwap());
   return(true);
  }

bool MtbReporter::ReadLive(MtbPosition &out[],ulong &live[])
  {
   ArrayResize(out,0);
   ArrayResize(live,0);
   int total=OrdersTotal();
   for(int i=0; i<total; i++)
     {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES))
        {
         PrintFormat("MtBridge: OrderSelect(%d, MODE_TRADES) failed, error %d",i,GetLastError());
         return(false);
        }
      int type=OrderType();
      if(type!=OP_BUY && type!=OP_SELL)
         continue;                              // pending orders are not positions
      int n=ArraySize(out);
      ArrayResize(out,n+1,64);
      ArrayResize(live,n+1,64);
      ulong ticket=(ulong)OrderTicket();
      string symbol=OrderSymbol();
      out[n].symbol=symbol;
      out[n].side=MtbMt4Side(type);
      out[n].volume=MtbNormVolume(symbol,OrderLots());
      out[n].price=MtbNormPrice(symbol,OrderOpenPrice());
      out[n].sl=MtbNormPrice(symbol,OrderStopLoss());
      out[n].tp=MtbNormPrice(symbol,OrderTakeProfit());
      out[n].time=MtbUtcMs((ulong)OrderOpenTime()*1000);
      out[n].magic=OrderMagicNumber();
      out[n].comment=OrderComment();
      out[n].swap=MtbNormMoney(OrderSwap());
      live[n]=ticket;
      //--- a partial-close remainder is reported under its chain's first ticket and comment
      int existing=FindLive(ticket);
      if(existing>=0)
        {
         out[n].ticket=m_pos[existing].p.ticket;
         out[n].comment=m_pos[existing].p.comment;
         out[n].time=m_pos[existing].p.time;     // as reported (MtbSeenTime)
        }
      else
        {
         string root_comment="";
         out[n].ticket=RootTicket(ticket,root_comment);
         if(out[n].ticket!=ticket)
            out[n].comment=root_comment;
        }
     }
   return(true);
  }

//--- the watch starts above every ticket the terminal holds now; pending orders are watched
//--- by ticket (a pending order keeps its ticket when it fills)
void MtbReporter::StartWatch(void)
  {
   m_max_ticket=0;
   ArrayResize(m_pending,0);
   int total=OrdersTotal();
   for(int i=0; i<total; i++)
     {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES))
         continue;
      ulong t=(ulong)OrderTicket();
      if(t>m_max_ticket)
         m_max_ticket=t;
      if(OrderType()!=OP_BUY && OrderType()!=OP_SELL)
         MtbPushTicket(m_pending,t);
     }
   //--- trade orders only: balance and credit entries (type 6, 7) need not share the sequence
   total=OrdersHistoryTotal();
   m_history_total=total;
   for(int i=0; i<total; i++)
      if(OrderSelect(i,SELECT_BY_POS,MODE_HISTORY) && OrderType()<=OP_SELLSTOP && (ulong)OrderTicket()>m_max_ticket)
         m_max_ticket=(ulong)OrderTicket();
  }

//--- the whole volume of a chain from its first ticket: every closed link plus an open rest
double MtbReporter::ChainVolume(const ulong first,const string symbol)
  {
   double whole=0.0;
   ulong t=first;
   for(int guard=0; guard<MTB_CHAIN_MAX && t>0; guard++)
     {
      if(!OrderSelect((int)t,SELECT_BY_TICKET))
         break;
      whole+=OrderLots();
      if(OrderCloseTime()==0)
         break;
      t=MtbMt4Remainder(OrderComment());
     }
   return(MtbNormVolume(symbol,whole));
  }

void MtbReporter::Forget(const ulong root)
  {
   m_recent[m_recent_next]=root;
   m_recent_next=(m_recent_next+1)%MTB_RECENT_MAX;
  }

bool MtbReporter::Forgotten(const ulong root) const
  {
   for(int j=0; j<MTB_RECENT_MAX; j++)
      if(m_recent[j]==root)
         return(true);
   return(false);
  }

//--- every timer tick once welcomed (Watch, both EAs). The history is read
//--- after a welcome and whenever it grew: an order can open and close between two diffs
void MtbReporter::Poll(void)
  {
   if(!m_link.IsUp())
      return;
   CatchUp();
   int history=OrdersHistoryTotal();
   if(m_catchup || history!=m_history_total)
     {
      m_catchup=false;
      m_history_total=history;
      HistoryCatchUp();
      if(!m_link.IsUp())
         return;
     }
   Diff();
  }

//--- the order pool against the cache
void MtbReporter::Diff(void)
  {
   for(int k=0; k<m_n; k++)
      m_pos[k].seen=false;
   int total=OrdersTotal();
   ulong fresh[];
   ulong pending[];
   for(int i=0; i<total; i++)
     {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES))
        {
         PrintFormat("MtBridge: OrderSelect(%d, MODE_TRADES) failed, error %d",i,GetLastError());
         return;
        }
      ulong ticket=(ulong)OrderTicket();
      if(ticket>m_max_ticket)
         m_max_ticket=ticket;
      if(OrderType()!=OP_BUY && OrderType()!=OP_SELL)
        {
         MtbPushTicket(pending,ticket);
         continue;
        }
      int k=FindLive(ticket);
      if(k<0)
        {
         int n=ArraySize(fresh);
         ArrayResize(fresh,n+1,16);
         fresh[n]=ticket;
         continue;
        }
      m_pos[k].seen=true;
      string symbol=OrderSymbol();
      double sl=MtbNormPrice(symbol,OrderStopLoss());
      double tp=MtbNormPrice(symbol,OrderTakeProfit());
      double swap=MtbNormMoney(OrderSwap());
      //--- new stops, or a swap change alone (the rollover): position_modified
      if(sl!=m_pos[k].p.sl || tp!=m_pos[k].p.tp || swap!=m_pos[k].p.swap)
        {
         m_pos[k].p.sl=sl;
         m_pos[k].p.tp=tp;
         m_pos[k].p.swap=swap;
         ReportModified(m_pos[k].p.ticket,sl,tp,MtbTradeUtcMs(),swap);   // MT4 keeps no modification time
        }
     }
   //--- vanished tickets: closed fully, or partly with a remainder
   for(int k=m_n-1; k>=0; k--)
     {
      if(m_pos[k].seen)
         continue;
      FollowChain(k,fresh);
      if(!m_link.IsUp())
         return;
     }
   //--- new market orders (opened, a filled pending order, or the rest of a chain nobody saw start)
   for(int j=0; j<ArraySize(fresh); j++)
     {
      if(fresh[j]==0)
         continue;
      NewTicket(fresh[j],fresh);
      if(!m_link.IsUp())
         return;
     }
   ArrayResize(m_pending,ArraySize(pending));
   for(int j=0; j<ArraySize(pending); j++)
      m_pending[j]=pending[j];
  }

//--- the live ticket of cached position k left the pool: walk its chain in the history, one
//--- position_closed per closed link, until an open remainder (the new live ticket) or the end
void MtbReporter::FollowChain(const int k,ulong &fresh[])
  {
   ulong t=m_pos[k].live;
   string symbol=m_pos[k].p.symbol;
   for(int guard=0; guard<MTB_CHAIN_MAX; guard++)
     {
      if(!OrderSelect((int)t,SELECT_BY_TICKET))
        {
         PrintFormat("MtBridge: ticket %I64u left the pool but is not in the account history (error %d); widen the History tab period",
                     t,GetLastError());
         Resync("closed order not found in history");
         return;
        }
      if(OrderCloseTime()==0)
        {
         m_pos[k].live=t;
         m_pos[k].seen=true;
         for(int j=0; j<ArraySize(fresh); j++)
            if(fresh[j]==t)
               fresh[j]=0;
         return;
        }
      string comment=OrderComment();
      double lots=MtbNormVolume(symbol,OrderLots());
      double price=MtbNormPrice(symbol,OrderClosePrice());
      ulong time=MtbSeenTime(MtbUtcMs((ulong)OrderCloseTime()*1000));
      double profit=MtbNormMoney(OrderProfit()+OrderSwap()+OrderCommission());
      int type=OrderType();
      datetime opened=OrderOpenTime();
      int magic=OrderMagicNumber();
      string reason=MtbMt4CloseReason(comment);
      ulong next=MtbMt4Remainder(comment);
      if(next==0)
         next=CloseByRemainder(t,symbol,type,opened,magic,fresh);
      double tracked=m_pos[k].p.volume;
      double closed=tracked;
      double remaining=0.0;
      if(next>0)
        {
         closed=(lots<tracked) ? lots : tracked;
         remaining=MtbNormVolume(symbol,tracked-closed);
         if(remaining<=0.0)
           {
            closed=tracked;
            remaining=0.0;
            next=0;
           }
        }
      ReportClosed(m_pos[k].p.ticket,closed,remaining,price,time,reason,profit);
      if(next==0)
        {
         Forget(m_pos[k].p.ticket);
         Remove(k);
         return;
        }
      m_pos[k].p.volume=remaining;
      t=next;
     }
   Resync(StringFormat("partial-close chain of ticket %I64u is longer than %d",m_pos[k].p.ticket,MTB_CHAIN_MAX));
  }

//--- OrderCloseBy with unequal lots closes the larger order ("partial close") and re-opens its
//--- rest as a new ticket without "to #": it has the same symbol, type, open time and magic
//--- (or a "from #" comment naming the closed ticket). 0 when there is no such ticket.
ulong MtbReporter::CloseByRemainder(const ulong closed,const string symbol,const int type,const datetime opened,
                                    const int magic,ulong &fresh[])
  {
   for(int j=0; j<ArraySize(fresh); j++)
     {
      if(fresh[j]==0 || !OrderSelect((int)fresh[j],SELECT_BY_TICKET))
         continue;
      if(MtbMt4Parent(OrderComment())==closed)
         return(fresh[j]);
      if(OrderSymbol()==symbol && OrderType()==type && OrderOpenTime()==opened && OrderMagicNumber()==magic)
         return(fresh[j]);
     }
   return(0);
  }

//--- a ticket not in the cache: a new position, or the open rest of a chain whose first ticket
//--- was never reported (opened and partly closed while the link was down): then the chain is
//--- reported from its first ticket, with its whole volume, and each close of it
void MtbReporter::NewTicket(const ulong ticket,ulong &fresh[])
  {
   string root_comment="";
   ulong root=RootTicket(ticket,root_comment);
   ulong first=ticket;
   if(root!=ticket && Find(root)<0 && !Forgotten(root))
      first=root;
   MtbPosition p;
   if(!ReadOrder(first,p))
     {
      PrintFormat("MtBridge: OrderSelect(ticket %I64u) failed, error %d; reported on the next pass",first,GetLastError());
      return;
     }
   if(first==ticket)
     {
      p.time=MtbSeenTime(p.time);
      Add(p,ticket);
      ReportOpened(p);
      return;
     }
   p.volume=ChainVolume(first,p.symbol);
   Add(p,first);
   ReportOpened(p);
   FollowChain(m_n-1,fresh);
  }

//--- orders that opened unseen (while the link was down, or between two diffs: a ticket above
//--- every one seen, or a pending order seen that filled) and are no longer in the pool
//--- (closed meanwhile) -> position_opened + position_closed, first tickets only
void MtbReporter::HistoryCatchUp(void)
  {
   ulong pool[];
   int np=0;
   int total=OrdersTotal();
   for(int i=0; i<total; i++)
     {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES) || (OrderType()!=OP_BUY && OrderType()!=OP_SELL))
         continue;
      if(FindLive((ulong)OrderTicket())>=0)
         continue;
      ArrayResize(pool,np+1,16);
      pool[np]=(ulong)OrderTicket();
      np++;
     }
   ulong roots[];
   int nr=0;
   total=OrdersHistoryTotal();
   for(int i=0; i<total; i++)
     {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_HISTORY))
        {
         PrintFormat("MtBridge: OrderSelect(%d, MODE_HISTORY) failed, error %d",i,GetLastError());
         continue;
        }
      if(OrderType()!=OP_BUY && OrderType()!=OP_SELL)
         continue;
      ulong t=(ulong)OrderTicket();
      if(t<=m_max_ticket && !MtbHasTicket(m_pending,t))
         continue;                              // known before the link went down
      if(MtbMt4Parent(OrderComment())>0)
         continue;                              // a remainder: its first ticket reports it
      if(Find(t)>=0 || FindLive(t)>=0 || Forgotten(t))
         continue;
      ArrayResize(roots,nr+1,16);
      roots[nr]=t;
      nr++;
     }
   if(nr==0)
      return;
   MtbSortTickets(roots);
   PrintFormat("MtBridge: %d order(s) opened unseen are already closed; reporting them",nr);
   for(int j=0; j<nr; j++)
     {
      if(roots[j]>m_max_ticket)
         m_max_ticket=roots[j];
      MtbPosition p;
      if(Find(roots[j])>=0 || !ReadOrder(roots[j],p))
         continue;
      p.volume=ChainVolume(roots[j],p.symbol);
      Add(p,roots[j]);
      ReportOpened(p);
      FollowChain(m_n-1,pool);
      if(!m_link.IsUp())
         return;
     }
  }

#endif // MTBRIDGE_REPORTER_MT4_MQH
