//+------------------------------------------------------------------+
//| MtBridge/Reporter.mqh - reports the account to the daemon:       |
//| hello snapshot, position_opened/_modified/_closed, account_update|
//| MT5: OnTradeTransaction + a reconciliation check every second.   |
//| MT4: a diff of the order pool on every timer tick (50 ms).       |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_REPORTER_MQH
#define MTBRIDGE_REPORTER_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Link.mqh"

#define MTB_ACCOUNT_MIN_MS  250     // account_update coalescing interval
#define MTB_CHAIN_MAX       64      // MT4 partial-close chain length limit

//--- one reported position; `p.ticket` is the ticket the daemon knows (MT4: the first
//--- ticket of a partial-close chain), `live` the ticket the terminal uses now
struct MtbTracked
  {
   MtbPosition       p;
   ulong             live;
   bool              seen;
  };

class MtbReporter
  {
private:
   MtbTracked        m_pos[];
   int               m_n;
   MtbLink          *m_link;
   string            m_account_type;
   string            m_role;           // copy-trading role, as on the daemon's allow-list
   double            m_bal;
   double            m_eq;
   double            m_margin;
   double            m_free;
   long              m_lev;
   ulong             m_acct_at;
   string            m_mismatch;
   int               Find(const ulong ticket) const;
   int               FindLive(const ulong live) const;
   void              Add(const MtbPosition &p,const ulong live);
   void              Remove(const int k);
   void              SendOpened(const MtbPosition &p);
   void              SendModified(const ulong ticket,const double sl,const double tp);
   void              SendClosed(const ulong ticket,const double volume,const double remaining,const double price,
                                const ulong time,const string reason,const double profit);
   bool              ReadLive(MtbPosition &out[],ulong &live[]);
public:
                     MtbReporter(void) { m_n=0; m_link=NULL; m_acct_at=0; m_lev=0; m_mismatch=""; }
   void              Init(MtbLink *link,const string account_type,const string role);
   bool              SendHello(void);
   void              AccountTick(void);
   void              Resync(const string why);
   ulong             LiveTicket(const ulong ticket) const;
   ulong             ReportedTicket(const ulong live) const;
#ifdef __MQL5__
   void              OnTransaction(const MqlTradeTransaction &t);
   void              Reconcile(void);
#else
   ulong             RootTicket(const ulong live,string &root_comment);
   void              Poll(void);
#endif
  };

void MtbReporter::Init(MtbLink *link,const string account_type,const string role)
  {
   m_link=link;
   m_account_type=account_type;
   m_role=role;
  }

int MtbReporter::Find(const ulong ticket) const
  {
   for(int k=0; k<m_n; k++)
      if(m_pos[k].p.ticket==ticket)
         return(k);
   return(-1);
  }

int MtbReporter::FindLive(const ulong live) const
  {
   for(int k=0; k<m_n; k++)
      if(m_pos[k].live==live)
         return(k);
   return(-1);
  }

void MtbReporter::Add(const MtbPosition &p,const ulong live)
  {
   ArrayResize(m_pos,m_n+1,64);
   m_pos[m_n].p=p;
   m_pos[m_n].live=live;
   m_pos[m_n].seen=true;
   m_n++;
  }

void MtbReporter::Remove(const int k)
  {
   for(int j=k; j<m_n-1; j++)
      m_pos[j]=m_pos[j+1];
   m_n--;
   ArrayResize(m_pos,m_n,64);
  }

ulong MtbReporter::LiveTicket(const ulong ticket) const
  {
   int k=Find(ticket);
   return(k>=0 ? m_pos[k].live : ticket);
  }

ulong MtbReporter::ReportedTicket(const ulong live) const
  {
   int k=FindLive(live);
   return(k>=0 ? m_pos[k].p.ticket : live);
  }

//--- the snapshot is the truth: a new connection with a fresh hello
void MtbReporter::Resync(const string why)
  {
   PrintFormat("MtBridge: resynchronising (%s): reconnecting to send a fresh snapshot",why);
   m_link.Close("resync: "+why);
  }

void MtbReporter::SendOpened(const MtbPosition &p)
  {
   if(!m_link.CanSend())
      return;
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   MtbBuildPositionOpened(w,env,p);
   m_link.Send(w,"position_opened");
  }

void MtbReporter::SendModified(const ulong ticket,const double sl,const double tp)
  {
   if(!m_link.CanSend())
      return;
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   MtbBuildPositionModified(w,env,ticket,sl,tp,MtbTradeUtcMs());
   m_link.Send(w,"position_modified");
  }

void MtbReporter::SendClosed(const ulong ticket,const double volume,const double remaining,const double price,
                             const ulong time,const string reason,const double profit)
  {
   if(!m_link.CanSend())
      return;
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   MtbBuildPositionClosed(w,env,ticket,volume,remaining,price,time,reason,profit);
   m_link.Send(w,"position_closed");
  }

//--- hello with every open position; restarts the cache from the terminal's truth
bool MtbReporter::SendHello(void)
  {
   MtbPosition list[];
   ulong live[];
   if(!ReadLive(list,live))
     {
      m_link.Close("cannot read positions");
      return(false);
     }
   m_n=0;
   ArrayResize(m_pos,0,64);
   for(int k=0; k<ArraySize(list); k++)
      Add(list[k],live[k]);
#ifdef __MQL5__
   string platform="MT5";
#else
   string platform="MT4";
#endif
   string account_type=(m_account_type!="") ? m_account_type : (platform=="MT5" ? "mt5_standard" : "mt4_standard");
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   m_bal=MtbNormMoney(AccountInfoDouble(ACCOUNT_BALANCE));
   m_eq=MtbNormMoney(AccountInfoDouble(ACCOUNT_EQUITY));
   m_lev=AccountInfoInteger(ACCOUNT_LEVERAGE);
   MtbBuildHello(w,env,m_role,platform,account_type,AccountInfoString(ACCOUNT_CURRENCY),
                 (ulong)m_lev,m_bal,m_eq,list,MtbUtcOffsetMs());
   m_acct_at=0;
   m_mismatch="";
   return(m_link.Send(w,"hello"));
  }

//--- account_update when a figure changed, at most every MTB_ACCOUNT_MIN_MS
void MtbReporter::AccountTick(void)
  {
   if(!m_link.CanSend())
      return;
   ulong now=MtbNowMs();
   if(now<m_acct_at+MTB_ACCOUNT_MIN_MS)
      return;
   double bal=MtbNormMoney(AccountInfoDouble(ACCOUNT_BALANCE));
   double eq=MtbNormMoney(AccountInfoDouble(ACCOUNT_EQUITY));
   double margin=MtbNormMoney(AccountInfoDouble(ACCOUNT_MARGIN));
   double free=MtbNormMoney(AccountInfoDouble(ACCOUNT_MARGIN_FREE));
   long lev=AccountInfoInteger(ACCOUNT_LEVERAGE);
   if(m_acct_at!=0 && bal==m_bal && eq==m_eq && margin==m_margin && free==m_free && lev==m_lev)
      return;
   if(margin<0.0)
      margin=0.0;
   m_bal=bal;
   m_eq=eq;
   m_margin=margin;
   m_free=free;
   m_lev=lev;
   m_acct_at=now;
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   MtbBuildAccountUpdate(w,env,bal,eq,margin,free,(ulong)(lev>0 ? lev : 0));
   m_link.Send(w,"account_update");
  }

#ifdef __MQL5__
//+------------------------------------------------------------------+
//| MT5                                                              |
//+------------------------------------------------------------------+
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
      ArrayResize(out,n+1);
      ArrayResize(live,n+1);
      string symbol=PositionGetString(POSITION_SYMBOL);
      out[n].ticket=ticket;
      out[n].symbol=symbol;
      out[n].side=(PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY) ? "buy" : "sell";
      out[n].volume=MtbNormVolume(symbol,PositionGetDouble(POSITION_VOLUME));
      out[n].price=MtbNormPrice(symbol,PositionGetDouble(POSITION_PRICE_OPEN));
      out[n].sl=MtbNormPrice(symbol,PositionGetDouble(POSITION_SL));
      out[n].tp=MtbNormPrice(symbol,PositionGetDouble(POSITION_TP));
      out[n].time=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC));
      out[n].magic=PositionGetInteger(POSITION_MAGIC);
      out[n].comment=PositionGetString(POSITION_COMMENT);
      live[n]=ticket;
     }
   return(true);
  }

void MtbReporter::OnTransaction(const MqlTradeTransaction &t)
  {
   if(t.type==TRADE_TRANSACTION_POSITION)
     {
      int k=Find(t.position);
      if(k<0)
         return;
      string symbol=m_pos[k].p.symbol;
      double sl=MtbNormPrice(symbol,t.price_sl);
      double tp=MtbNormPrice(symbol,t.price_tp);
      if(sl!=m_pos[k].p.sl || tp!=m_pos[k].p.tp)
        {
         m_pos[k].p.sl=sl;
         m_pos[k].p.tp=tp;
         SendModified(m_pos[k].p.ticket,sl,tp);
        }
      return;
     }
   if(t.type!=TRADE_TRANSACTION_DEAL_ADD)
      return;
   if(!HistoryDealSelect(t.deal))
     {
      PrintFormat("MtBridge: HistoryDealSelect(%I64u) failed, error %d",t.deal,GetLastError());
      Resync("deal not readable");
      return;
     }
   long dtype=HistoryDealGetInteger(t.deal,DEAL_TYPE);
   if(dtype!=DEAL_TYPE_BUY && dtype!=DEAL_TYPE_SELL)
      return;                                   // balance, credit, commission...
   long entry=HistoryDealGetInteger(t.deal,DEAL_ENTRY);
   ulong pos_id=(ulong)HistoryDealGetInteger(t.deal,DEAL_POSITION_ID);
   string symbol=HistoryDealGetString(t.deal,DEAL_SYMBOL);
   if(entry==DEAL_ENTRY_IN)
     {
      if(Find(pos_id)>=0)
        {
         Resync("volume added to an open (netting) position");
         return;
        }
      if(!PositionSelectByTicket(pos_id))
         return;                                // already closed again: the close deal follows
      MtbPosition p;
      p.ticket=pos_id;
      p.symbol=symbol;
      p.side=(PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY) ? "buy" : "sell";
      p.volume=MtbNormVolume(symbol,PositionGetDouble(POSITION_VOLUME));
      p.price=MtbNormPrice(symbol,PositionGetDouble(POSITION_PRICE_OPEN));
      p.sl=MtbNormPrice(symbol,PositionGetDouble(POSITION_SL));
      p.tp=MtbNormPrice(symbol,PositionGetDouble(POSITION_TP));
      p.time=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC));
      p.magic=PositionGetInteger(POSITION_MAGIC);
      p.comment=PositionGetString(POSITION_COMMENT);
      Add(p,pos_id);
      SendOpened(p);
      return;
     }
   if(entry==DEAL_ENTRY_OUT || entry==DEAL_ENTRY_OUT_BY)
     {
      int k=Find(pos_id);
      if(k<0)
        {
         Resync(StringFormat("close deal %I64u for unknown position %I64u",t.deal,pos_id));
         return;
        }
      double remaining=0.0;
      if(PositionSelectByTicket(pos_id))
         remaining=MtbNormVolume(symbol,PositionGetDouble(POSITION_VOLUME));
      long why=HistoryDealGetInteger(t.deal,DEAL_REASON);
      string reason="client";
      if(why==DEAL_REASON_SL)
         reason="sl";
      else if(why==DEAL_REASON_TP)
         reason="tp";
      else if(why==DEAL_REASON_SO)
         reason="so";
      SendClosed(pos_id,MtbNormVolume(symbol,HistoryDealGetDouble(t.deal,DEAL_VOLUME)),remaining,
                 MtbNormPrice(symbol,HistoryDealGetDouble(t.deal,DEAL_PRICE)),
                 MtbUtcMs((ulong)HistoryDealGetInteger(t.deal,DEAL_TIME_MSC)),reason,
                 MtbNormMoney(HistoryDealGetDouble(t.deal,DEAL_PROFIT)));
      if(remaining>0.0)
         m_pos[k].p.volume=remaining;
      else
         Remove(k);
      return;
     }
   Resync("position reversal (DEAL_ENTRY_INOUT)");
  }

//--- every second: a difference between cache and terminal that lasts two checks = resync
void MtbReporter::Reconcile(void)
  {
   if(m_link.State()!=MTB_LINK_UP)
      return;
   MtbPosition list[];
   ulong live[];
   if(!ReadLive(list,live))
      return;
   string diff="";
   if(ArraySize(list)!=m_n)
      diff=StringFormat("%d positions, %d reported",ArraySize(list),m_n);
   for(int i=0; i<ArraySize(list) && diff==""; i++)
     {
      int k=Find(list[i].ticket);
      if(k<0 || m_pos[k].p.volume!=list[i].volume || m_pos[k].p.sl!=list[i].sl || m_pos[k].p.tp!=list[i].tp)
         diff=StringFormat("position %I64u differs",list[i].ticket);
     }
   if(diff!="" && diff==m_mismatch)
     {
      Resync(diff);
      return;
     }
   m_mismatch=diff;
  }
#else
//+------------------------------------------------------------------+
//| MT4                                                              |
//+------------------------------------------------------------------+
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
      if(StringFind(root_comment,"from #")!=0)
         return(t);
      long parent=StringToInteger(StringSubstr(root_comment,6));
      if(parent<=0)
         return(t);
      t=(ulong)parent;
     }
   PrintFormat("MtBridge: partial-close chain of ticket %I64u is longer than %d",live,MTB_CHAIN_MAX);
   return(t);
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
      ArrayResize(out,n+1);
      ArrayResize(live,n+1);
      ulong ticket=(ulong)OrderTicket();
      string symbol=OrderSymbol();
      out[n].symbol=symbol;
      out[n].side=(type==OP_BUY) ? "buy" : "sell";
      out[n].volume=MtbNormVolume(symbol,OrderLots());
      out[n].price=MtbNormPrice(symbol,OrderOpenPrice());
      out[n].sl=MtbNormPrice(symbol,OrderStopLoss());
      out[n].tp=MtbNormPrice(symbol,OrderTakeProfit());
      out[n].time=MtbUtcMs((ulong)OrderOpenTime()*1000);
      out[n].magic=OrderMagicNumber();
      out[n].comment=OrderComment();
      live[n]=ticket;
      //--- a partial-close remainder is reported under its chain's first ticket and comment
      int existing=FindLive(ticket);
      if(existing>=0)
         out[n].ticket=m_pos[existing].p.ticket;
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

//--- diff the order pool against the cache; call every 50 ms
void MtbReporter::Poll(void)
  {
   if(!m_link.CanSend())
      return;
   for(int k=0; k<m_n; k++)
      m_pos[k].seen=false;
   int total=OrdersTotal();
   ulong fresh[];
   for(int i=0; i<total; i++)
     {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES))
        {
         PrintFormat("MtBridge: OrderSelect(%d, MODE_TRADES) failed, error %d",i,GetLastError());
         return;
        }
      if(OrderType()!=OP_BUY && OrderType()!=OP_SELL)
         continue;
      ulong ticket=(ulong)OrderTicket();
      int k=FindLive(ticket);
      if(k<0)
        {
         int n=ArraySize(fresh);
         ArrayResize(fresh,n+1);
         fresh[n]=ticket;
         continue;
        }
      m_pos[k].seen=true;
      string symbol=OrderSymbol();
      double sl=MtbNormPrice(symbol,OrderStopLoss());
      double tp=MtbNormPrice(symbol,OrderTakeProfit());
      if(sl!=m_pos[k].p.sl || tp!=m_pos[k].p.tp)
        {
         m_pos[k].p.sl=sl;
         m_pos[k].p.tp=tp;
         SendModified(m_pos[k].p.ticket,sl,tp);
        }
     }
   //--- vanished tickets: closed fully, or partly with a remainder "to #N"
   for(int k=m_n-1; k>=0; k--)
     {
      if(m_pos[k].seen)
         continue;
      ulong live=m_pos[k].live;
      if(!OrderSelect((int)live,SELECT_BY_TICKET) || OrderCloseTime()==0)
        {
         PrintFormat("MtBridge: ticket %I64u left the pool but is not in the account history (error %d); widen the History tab period",
                     live,GetLastError());
         Resync("closed order not found in history");
         return;
        }
      string symbol=OrderSymbol();
      string comment=OrderComment();
      double closed=MtbNormVolume(symbol,OrderLots());
      double price=MtbNormPrice(symbol,OrderClosePrice());
      ulong time=MtbUtcMs((ulong)OrderCloseTime()*1000);
      double profit=MtbNormMoney(OrderProfit());
      string reason="client";
      if(StringFind(comment,"[sl]")>=0)
         reason="sl";
      else if(StringFind(comment,"[tp]")>=0)
         reason="tp";
      else if(StringFind(comment,"so:")>=0)
         reason="so";
      double remaining=0.0;
      ulong next=0;
      int to=StringFind(comment,"to #");
      if(to>=0)
        {
         next=(ulong)StringToInteger(StringSubstr(comment,to+4));
         if(next>0 && OrderSelect((int)next,SELECT_BY_TICKET) && OrderCloseTime()==0)
            remaining=MtbNormVolume(symbol,OrderLots());
        }
      SendClosed(m_pos[k].p.ticket,closed,remaining,price,time,reason,profit);
      if(remaining>0.0)
        {
         m_pos[k].live=next;
         m_pos[k].p.volume=remaining;
         m_pos[k].seen=true;
         for(int j=0; j<ArraySize(fresh); j++)
            if(fresh[j]==next)
               fresh[j]=0;
        }
      else
         Remove(k);
     }
   //--- new market orders (opened, or a filled pending order)
   for(int j=0; j<ArraySize(fresh); j++)
     {
      if(fresh[j]==0 || !OrderSelect((int)fresh[j],SELECT_BY_TICKET))
         continue;
      string symbol=OrderSymbol();
      MtbPosition p;
      p.ticket=fresh[j];
      p.symbol=symbol;
      p.side=(OrderType()==OP_BUY) ? "buy" : "sell";
      p.volume=MtbNormVolume(symbol,OrderLots());
      p.price=MtbNormPrice(symbol,OrderOpenPrice());
      p.sl=MtbNormPrice(symbol,OrderStopLoss());
      p.tp=MtbNormPrice(symbol,OrderTakeProfit());
      p.time=MtbUtcMs((ulong)OrderOpenTime()*1000);
      p.magic=OrderMagicNumber();
      p.comment=OrderComment();
      Add(p,fresh[j]);
      SendOpened(p);
     }
  }
#endif

#endif // MTBRIDGE_REPORTER_MQH
