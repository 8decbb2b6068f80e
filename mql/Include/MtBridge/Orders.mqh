//+------------------------------------------------------------------+
//| MtBridge/Orders.mqh - pending orders (issue 15 items 1, 3, 6).   |
//| MtbOrderWatch reports the account's limit, stop and (MT5)        |
//| stop-limit orders: order_placed / order_modified / order_removed |
//| / order_filled, by a diff of the order pool on every timer pass  |
//| (MT5 OrdersTotal OrderGetTicket, MT4 OrdersTotal OrderSelect),   |
//| removed orders looked up in history. The reports go through the  |
//| reporter's re-send buffer (welcome.last_id), in one order with   |
//| the position reports; after each welcome, once those are sent    |
//| again, `orders_snapshot` tells every order there now. MtbDoOrder |
//| runs place_order / modify_order / cancel_order (MT5 OrderSend    |
//| TRADE_ACTION_PENDING/MODIFY/REMOVE, MT4 OrderSend/OrderModify/   |
//| OrderDelete; MT4 has no stop-limit: refused). A fill is also     |
//| reported by the position watch (position_opened, same ticket):   |
//| the daemon takes the second report as the duplicate it is.       |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_ORDERS_MQH
#define MTBRIDGE_ORDERS_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Link.mqh"
#include "Reporter.mqh"
#include "Util.mqh"

#define MTB_ORDERS_MAX 512   // pending orders watched per account, = the schema's MAX_SNAPSHOT_ORDERS
//--- Executor.mqh's values (MTB_RC_DONE, MTB_RC_PLACED, MTB_RC_ERROR, MTB_OUT_DONE, MTB_OUT_REFUSED),
//--- under their own names: the trader EA includes this file without the executor
#define MTB_ORDER_RC_DONE     10009
#define MTB_ORDER_RC_PLACED   10008
#define MTB_ORDER_RC_ERROR    10011
#define MTB_ORDER_OUT_DONE    0
#define MTB_ORDER_OUT_REFUSED 1

//--- the wire's order_type of a platform order type, "" for any other type
string MtbOrderTypeName(const long type)
  {
   if(type==2)
      return("buy_limit");
   if(type==3)
      return("sell_limit");
   if(type==4)
      return("buy_stop");
   if(type==5)
      return("sell_stop");
   if(type==6)
      return("buy_stop_limit");   // MT5 ORDER_TYPE_BUY_STOP_LIMIT (MT4 has none)
   if(type==7)
      return("sell_stop_limit");
   return("");
  }

//--- the platform order type of a wire order_type (MT4 OP_BUYLIMIT.. and MT5 ORDER_TYPE_BUY_LIMIT.. share
//--- 2..5; MT5's stop-limits are 6, 7): bridge/protocol/orders.py's OrderKind.code
int MtbOrderTypeOf(const string name)
  {
   if(name=="buy_limit")
      return(2);
   if(name=="sell_limit")
      return(3);
   if(name=="buy_stop")
      return(4);
   if(name=="buy_stop_limit")
      return(6);
   if(name=="sell_stop_limit")
      return(7);
   return(5);
  }

class MtbOrderWatch
  {
private:
   MtbLink          *m_link;
   MtbReporter      *m_reporter;
   bool              m_started;
   ulong             m_snapshot_at;     // the link's welcome count the last orders_snapshot answered
   ulong             m_ticket[];
   double            m_price[];
   double            m_sl[];
   double            m_tp[];
   double            m_stoplimit[];
   int               Find(const ulong ticket) const;
   void              Track(const ulong ticket,const double price,const double sl,const double tp,const double stoplimit);
   void              Forget(const int k);
   void              Gone(const ulong ticket);
   void              Snapshot(const MtbOrder &orders[]);
public:
                     MtbOrderWatch(void) : m_link(NULL), m_reporter(NULL), m_started(false), m_snapshot_at(0) {}
   void              Init(MtbLink *link,MtbReporter *reporter) { m_link=link; m_reporter=reporter; }
   void              Scan(void);
  };

int MtbOrderWatch::Find(const ulong ticket) const
  {
   for(int k=0; k<ArraySize(m_ticket); k++)
      if(m_ticket[k]==ticket)
         return(k);
   return(-1);
  }

void MtbOrderWatch::Track(const ulong ticket,const double price,const double sl,const double tp,
                          const double stoplimit)
  {
   int k=Find(ticket);
   if(k<0)
     {
      k=ArraySize(m_ticket);
      if(k>=MTB_ORDERS_MAX)
         return;
      ArrayResize(m_ticket,k+1);
      ArrayResize(m_price,k+1);
      ArrayResize(m_sl,k+1);
      ArrayResize(m_tp,k+1);
      ArrayResize(m_stoplimit,k+1);
      m_ticket[k]=ticket;
     }
   m_price[k]=price;
   m_sl[k]=sl;
   m_tp[k]=tp;
   m_stoplimit[k]=stoplimit;
  }

void MtbOrderWatch::Forget(const int k)
  {
   int last=ArraySize(m_ticket)-1;
   m_ticket[k]=m_ticket[last];
   m_price[k]=m_price[last];
   m_sl[k]=m_sl[last];
   m_tp[k]=m_tp[last];
   m_stoplimit[k]=m_stoplimit[last];
   ArrayResize(m_ticket,last);
   ArrayResize(m_price,last);
   ArrayResize(m_sl,last);
   ArrayResize(m_tp,last);
   ArrayResize(m_stoplimit,last);
  }

//--- one pass: new and changed orders, then the ones gone from the pool, then (once per
//--- welcome) the orders snapshot. Nothing is reported (or forgotten) while the link is down,
//--- nor before the reporter re-sent what the daemon never journaled: the next pass does it.
void MtbOrderWatch::Scan(void)
  {
   if(m_link==NULL || m_reporter==NULL || !m_link.IsUp() || m_reporter.CaughtUp()!=m_link.Welcomes())
      return;
   bool quiet=!m_started;   // the first pass learns the pool: the snapshot reports what is there
   m_started=true;
   ulong seen[];
   MtbOrder now[];
   int total=OrdersTotal();
   for(int i=0; i<total; i++)
     {
#ifdef __MQL5__
      ulong ticket=OrderGetTicket(i);
      if(ticket==0)
         continue;
      string kind=MtbOrderTypeName(OrderGetInteger(ORDER_TYPE));
      if(kind=="")
         continue;
      string symbol=OrderGetString(ORDER_SYMBOL);
      double volume=OrderGetDouble(ORDER_VOLUME_CURRENT);
      double price=OrderGetDouble(ORDER_PRICE_OPEN);
      double sl=OrderGetDouble(ORDER_SL);
      double tp=OrderGetDouble(ORDER_TP);
      double stoplimit=OrderGetDouble(ORDER_PRICE_STOPLIMIT);
      long magic=OrderGetInteger(ORDER_MAGIC);
      long expiration=OrderGetInteger(ORDER_TIME_EXPIRATION);
      ulong setup=MtbUtcMs((ulong)OrderGetInteger(ORDER_TIME_SETUP_MSC));
#else
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES))
         continue;
      string kind=MtbOrderTypeName(OrderType());
      if(kind=="")
         continue;
      ulong ticket=(ulong)OrderTicket();
      string symbol=OrderSymbol();
      double volume=OrderLots();
      double price=OrderOpenPrice();
      double sl=OrderStopLoss();
      double tp=OrderTakeProfit();
      double stoplimit=0.0;   // MT4 has no stop-limit
      long magic=OrderMagicNumber();
      long expiration=(long)OrderExpiration();
      ulong setup=MtbSeenTime(MtbUtcMs((ulong)OrderOpenTime()*1000));
#endif
      int n=ArraySize(seen);
      if(n>=MTB_ORDERS_MAX)
         break;
      ArrayResize(seen,n+1);
      seen[n]=ticket;
      ulong expires=expiration>0 ? MtbUtcMs((ulong)expiration*1000) : 0;
      ArrayResize(now,n+1);
      now[n].ticket=ticket;
      now[n].symbol=symbol;
      now[n].order_type=kind;
      now[n].volume=volume;
      now[n].price=price;
      now[n].sl=sl;
      now[n].tp=tp;
      now[n].expiration=expires;
      now[n].time=setup;
      now[n].stoplimit=stoplimit;
      now[n].magic=magic;
      MtbReport r;
      r.p.ticket=ticket;
      r.p.symbol=symbol;
      r.p.side="";
      r.p.volume=volume;
      r.p.price=price;
      r.p.sl=sl;
      r.p.tp=tp;
      r.p.magic=magic;
      r.p.comment="";
      r.p.swap=0.0;
      r.order_type=kind;
      r.expiration=expires;
      r.stoplimit=stoplimit;
      r.position=0;
      r.reason="";
      r.remaining=0.0;
      r.profit=0.0;
      int k=Find(ticket);
      if(k<0)
        {
         Track(ticket,price,sl,tp,stoplimit);
         if(quiet)
            continue;
         r.kind=MTB_REPORT_ORDER_PLACED;
         r.p.time=setup;
         m_reporter.ReportOrder(r);
        }
      else if(m_price[k]!=price || m_sl[k]!=sl || m_tp[k]!=tp || m_stoplimit[k]!=stoplimit)
        {
         Track(ticket,price,sl,tp,stoplimit);
         r.kind=MTB_REPORT_ORDER_MODIFIED;
         r.p.time=MtbTradeUtcMs();
         m_reporter.ReportOrder(r);
        }
     }
   for(int k=ArraySize(m_ticket)-1; k>=0; k--)
     {
      bool present=false;
      for(int j=0; j<ArraySize(seen) && !present; j++)
         present=(seen[j]==m_ticket[k]);
      if(present)
         continue;
      ulong gone=m_ticket[k];
      Forget(k);
      Gone(gone);
     }
   if(m_snapshot_at!=m_link.Welcomes())
     {
      m_snapshot_at=m_link.Welcomes();
      Snapshot(now);
     }
  }

//--- after a welcome: every order there now (docs/protocol.md section 6.3). Not sent when there
//--- is none and the daemon never knew this login (it keeps no order of it).
void MtbOrderWatch::Snapshot(const MtbOrder &orders[])
  {
   if(ArraySize(orders)==0 && !m_link.Resumed())
      return;
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   MtbBuildOrdersSnapshot(w,env,orders);
   m_link.Send(w,"orders_snapshot");
  }

//--- an order left the pool: filled (order_filled with its position), expired or cancelled
void MtbOrderWatch::Gone(const ulong ticket)
  {
   MtbReport r;
   r.p.ticket=ticket;
   r.p.symbol="";
   r.p.side="";
   r.p.volume=0.0;
   r.p.price=0.0;
   r.p.sl=0.0;
   r.p.tp=0.0;
   r.p.magic=0;
   r.p.comment="";
   r.p.swap=0.0;
   r.order_type="";
   r.expiration=0;
   r.stoplimit=0.0;
   r.position=0;
   r.reason="";
   r.remaining=0.0;
   r.profit=0.0;
#ifdef __MQL5__
   if(!HistoryOrderSelect(ticket))
      return;   // not in history yet: nothing to say for sure (the next snapshot tells)
   long state=HistoryOrderGetInteger(ticket,ORDER_STATE);
   if(state==ORDER_STATE_FILLED)
     {
      ulong position=(ulong)HistoryOrderGetInteger(ticket,ORDER_POSITION_ID);
      if(!MtbSelectPositionById(position))
         return;   // already closed again: the position watch reports its deals
      double price=PositionGetDouble(POSITION_PRICE_OPEN);
      ulong time=MtbUtcMs((ulong)PositionGetInteger(POSITION_TIME_MSC));
      if(MtbMarginMode()=="netting")
        {
         //--- netting: the fill's price and time (the position's are its average and its first
         //--- deal's; docs/protocol.md, order_filled); the volume stays the position's
         time=MtbUtcMs((ulong)HistoryOrderGetInteger(ticket,ORDER_TIME_DONE_MSC));
         if(HistorySelectByPosition(position))
            for(int i=HistoryDealsTotal()-1; i>=0; i--)
              {
               ulong deal=HistoryDealGetTicket(i);
               if((ulong)HistoryDealGetInteger(deal,DEAL_ORDER)!=ticket)
                  continue;
               price=HistoryDealGetDouble(deal,DEAL_PRICE);
               break;
              }
        }
      r.kind=MTB_REPORT_ORDER_FILLED;
      r.position=position;
      r.p.symbol=PositionGetString(POSITION_SYMBOL);
      r.p.side=MtbPositionSide();
      r.p.volume=PositionGetDouble(POSITION_VOLUME);
      r.p.price=price;
      r.p.sl=PositionGetDouble(POSITION_SL);
      r.p.tp=PositionGetDouble(POSITION_TP);
      r.p.magic=PositionGetInteger(POSITION_MAGIC);
      r.p.time=time;
      m_reporter.ReportOrder(r);
      return;
     }
   r.reason=(state==ORDER_STATE_EXPIRED) ? "expired" : "cancelled";
   r.p.time=MtbUtcMs((ulong)HistoryOrderGetInteger(ticket,ORDER_TIME_DONE_MSC));
#else
   if(!OrderSelect((int)ticket,SELECT_BY_TICKET))
      return;
   int type=OrderType();
   if(type<=OP_SELL)   // the order became a position, same ticket
     {
      if(OrderCloseTime()>0)
         return;   // already closed again: the pool diff reports it
      r.kind=MTB_REPORT_ORDER_FILLED;
      r.position=ticket;
      r.p.symbol=OrderSymbol();
      r.p.side=MtbMt4Side(type);
      r.p.volume=OrderLots();
      r.p.price=OrderOpenPrice();
      r.p.sl=OrderStopLoss();
      r.p.tp=OrderTakeProfit();
      r.p.magic=OrderMagicNumber();
      r.p.time=MtbSeenTime(MtbUtcMs((ulong)OrderOpenTime()*1000));
      m_reporter.ReportOrder(r);
      return;
     }
   datetime expiration=OrderExpiration();
   r.reason=(expiration>0 && OrderCloseTime()>=expiration) ? "expired" : "cancelled";
   r.p.time=MtbSeenTime(MtbUtcMs((ulong)OrderCloseTime()*1000));
#endif
   r.kind=MTB_REPORT_ORDER_REMOVED;
   m_reporter.ReportOrder(r);
  }

//--- place_order / modify_order / cancel_order (MtbExecutor::Handle runs the key's life)
int MtbDoOrder(const MtbInbound &c,MtbResult &r)
  {
   r.price=0.0;
   r.volume=0.0;
   r.time=MtbTradeUtcMs();
   r.ticket=c.ticket;
   datetime expiration=c.expiration>0 ? MtbServerTime(c.expiration) : 0;
#ifdef __MQL5__
   MqlTradeRequest req={};
   MqlTradeResult res={};
   if(c.type=="place_order")
     {
      req.action=TRADE_ACTION_PENDING;
      req.symbol=c.symbol;
      req.volume=MtbNormVolume(c.symbol,c.volume);
      req.type=(ENUM_ORDER_TYPE)MtbOrderTypeOf(c.order_type);
      req.price=MtbNormPrice(c.symbol,c.price);
      req.stoplimit=MtbNormPrice(c.symbol,c.stoplimit);   // a stop-limit's Limit price, 0 for the others
      req.sl=MtbNormPrice(c.symbol,c.sl);
      req.tp=MtbNormPrice(c.symbol,c.tp);
      req.magic=c.magic;
      req.comment=c.comment;
     }
   else if(c.type=="modify_order")
     {
      req.action=TRADE_ACTION_MODIFY;
      req.order=c.ticket;
      req.price=c.price;
      req.stoplimit=c.stoplimit;
      req.sl=c.sl;
      req.tp=c.tp;
     }
   else
     {
      req.action=TRADE_ACTION_REMOVE;
      req.order=c.ticket;
     }
   if(c.type!="cancel_order")
     {
      req.type_time=expiration>0 ? ORDER_TIME_SPECIFIED : ORDER_TIME_GTC;
      req.expiration=expiration;
     }
   bool sent=OrderSend(req,res);
   if(sent && (res.retcode==MTB_ORDER_RC_DONE || res.retcode==MTB_ORDER_RC_PLACED))
     {
      r.ok=true;
      r.retcode=MTB_ORDER_RC_DONE;
      if(c.type=="place_order")
         r.ticket=res.order;
      r.message="";
      return(MTB_ORDER_OUT_DONE);
     }
   r.ok=false;
   r.retcode=(long)res.retcode;
   r.message=StringFormat("%s refused: retcode %u, error %d",c.type,res.retcode,GetLastError());
   PrintFormat("MtBridge: %s %s",c.key,r.message);
   return(MTB_ORDER_OUT_REFUSED);
#else
   bool ok=false;
   if(c.type=="place_order" && MtbOrderTypeOf(c.order_type)>5)
     {
      //--- the daemon sends stop-limits to MT5 accounts only (docs/copy-trading.md): refused, never approximated
      r.ok=false;
      r.retcode=MTB_ORDER_RC_ERROR;
      r.message=StringFormat("place_order refused: MT4 has no %s orders",c.order_type);
      PrintFormat("MtBridge: %s %s",c.key,r.message);
      return(MTB_ORDER_OUT_REFUSED);
     }
   if(c.type=="place_order")
     {
      int ticket=OrderSend(c.symbol,MtbOrderTypeOf(c.order_type),MtbNormVolume(c.symbol,c.volume),
                           MtbNormPrice(c.symbol,c.price),0,MtbNormPrice(c.symbol,c.sl),MtbNormPrice(c.symbol,c.tp),
                           c.comment,(int)c.magic,expiration,clrNONE);
      ok=(ticket>0);
      if(ok)
         r.ticket=(ulong)ticket;
     }
   else if(c.type=="modify_order")
      ok=OrderModify((int)c.ticket,c.price,c.sl,c.tp,expiration,clrNONE);
   else
      ok=OrderDelete((int)c.ticket,clrNONE);
   if(ok)
     {
      r.ok=true;
      r.retcode=MTB_ORDER_RC_DONE;
      r.message="";
      return(MTB_ORDER_OUT_DONE);
     }
   r.ok=false;
   r.retcode=MTB_ORDER_RC_ERROR;
   r.message=StringFormat("%s refused: error %d",c.type,GetLastError());
   PrintFormat("MtBridge: %s %s",c.key,r.message);
   return(MTB_ORDER_OUT_REFUSED);
#endif
  }

//--- the three order commands
bool MtbIsOrderCommand(const string type)
  {
   return(type=="place_order" || type=="modify_order" || type=="cancel_order");
  }

#endif // MTBRIDGE_ORDERS_MQH
