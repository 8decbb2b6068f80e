//+------------------------------------------------------------------+
//| MtBridge/Orders.mqh - pending orders (issue 15 item 6).          |
//| MtbOrderWatch reports the account's limit and stop orders:       |
//| order_placed / order_modified / order_removed / order_filled,    |
//| by a diff of the order pool on every timer pass (MT5 OrdersTotal |
//| OrderGetTicket, MT4 OrdersTotal OrderSelect), removed orders     |
//| looked up in history. MtbDoOrder runs place_order / modify_order |
//| / cancel_order (MT5 OrderSend TRADE_ACTION_PENDING/MODIFY/REMOVE,|
//| MT4 OrderSend/OrderModify/OrderDelete). A fill is also reported  |
//| by the position watch (position_opened, same ticket): the daemon |
//| takes the second report as the duplicate it is.                 |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_ORDERS_MQH
#define MTBRIDGE_ORDERS_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Link.mqh"
#include "Util.mqh"

#define MTB_ORDERS_MAX 512   // pending orders watched per account (bounded like every list here)
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
   return("");
  }

//--- the platform order type of a wire order_type (MT4 OP_BUYLIMIT.. and MT5 ORDER_TYPE_BUY_LIMIT.. share 2..5)
int MtbOrderTypeOf(const string name)
  {
   if(name=="buy_limit")
      return(2);
   if(name=="sell_limit")
      return(3);
   if(name=="buy_stop")
      return(4);
   return(5);
  }

class MtbOrderWatch
  {
private:
   MtbLink          *m_link;
   bool              m_started;
   ulong             m_ticket[];
   double            m_price[];
   double            m_sl[];
   double            m_tp[];
   int               Find(const ulong ticket) const;
   void              Track(const ulong ticket,const double price,const double sl,const double tp);
   void              Forget(const int k);
   void              Gone(const ulong ticket);
public:
                     MtbOrderWatch(void) : m_link(NULL), m_started(false) {}
   void              Init(MtbLink *link) { m_link=link; }
   void              Scan(void);
  };

int MtbOrderWatch::Find(const ulong ticket) const
  {
   for(int k=0; k<ArraySize(m_ticket); k++)
      if(m_ticket[k]==ticket)
         return(k);
   return(-1);
  }

void MtbOrderWatch::Track(const ulong ticket,const double price,const double sl,const double tp)
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
      m_ticket[k]=ticket;
     }
   m_price[k]=price;
   m_sl[k]=sl;
   m_tp[k]=tp;
  }

void MtbOrderWatch::Forget(const int k)
  {
   int last=ArraySize(m_ticket)-1;
   m_ticket[k]=m_ticket[last];
   m_price[k]=m_price[last];
   m_sl[k]=m_sl[last];
   m_tp[k]=m_tp[last];
   ArrayResize(m_ticket,last);
   ArrayResize(m_price,last);
   ArrayResize(m_sl,last);
   ArrayResize(m_tp,last);
  }

//--- one pass: new and changed orders, then the ones gone from the pool. Nothing is reported
//--- (or forgotten) while the link is down: the next pass after the welcome reports it.
void MtbOrderWatch::Scan(void)
  {
   if(m_link==NULL || !m_link.IsUp())
      return;
   bool quiet=!m_started;   // the first pass learns the pool: orders already there are not reported
   m_started=true;
   ulong seen[];
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
      long expiration=(long)OrderExpiration();
      ulong setup=MtbSeenTime(MtbUtcMs((ulong)OrderOpenTime()*1000));
#endif
      int n=ArraySize(seen);
      ArrayResize(seen,n+1);
      seen[n]=ticket;
      ulong expires=expiration>0 ? MtbUtcMs((ulong)expiration*1000) : 0;
      int k=Find(ticket);
      if(k<0)
        {
         Track(ticket,price,sl,tp);
         if(quiet)
            continue;
         MtbEnvelope env;
         m_link.NextEnvelope(env);
         MpWriter w;
         MtbBuildOrderPlaced(w,env,ticket,symbol,kind,volume,price,sl,tp,expires,setup);
         m_link.Send(w,"order_placed");
        }
      else if(m_price[k]!=price || m_sl[k]!=sl || m_tp[k]!=tp)
        {
         Track(ticket,price,sl,tp);
         MtbEnvelope env;
         m_link.NextEnvelope(env);
         MpWriter w;
         MtbBuildOrderModified(w,env,ticket,price,sl,tp,expires,MtbTradeUtcMs());
         m_link.Send(w,"order_modified");
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
  }

//--- an order left the pool: filled (order_filled with its position), expired or cancelled
void MtbOrderWatch::Gone(const ulong ticket)
  {
   MtbEnvelope env;
   MpWriter w;
#ifdef __MQL5__
   if(!HistoryOrderSelect(ticket))
      return;   // not in history yet: nothing to say for sure
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
      m_link.NextEnvelope(env);
      MtbBuildOrderFilled(w,env,ticket,position,PositionGetString(POSITION_SYMBOL),MtbPositionSide(),
                          PositionGetDouble(POSITION_VOLUME),price,
                          PositionGetDouble(POSITION_SL),PositionGetDouble(POSITION_TP),time);
      m_link.Send(w,"order_filled");
      return;
     }
   string removal=(state==ORDER_STATE_EXPIRED) ? "expired" : "cancelled";
   ulong done=MtbUtcMs((ulong)HistoryOrderGetInteger(ticket,ORDER_TIME_DONE_MSC));
#else
   if(!OrderSelect((int)ticket,SELECT_BY_TICKET))
      return;
   int type=OrderType();
   if(type<=OP_SELL)   // the order became a position, same ticket
     {
      if(OrderCloseTime()>0)
         return;   // already closed again: the pool diff reports it
      m_link.NextEnvelope(env);
      MtbBuildOrderFilled(w,env,ticket,ticket,OrderSymbol(),MtbMt4Side(type),OrderLots(),OrderOpenPrice(),
                          OrderStopLoss(),OrderTakeProfit(),MtbSeenTime(MtbUtcMs((ulong)OrderOpenTime()*1000)));
      m_link.Send(w,"order_filled");
      return;
     }
   datetime expiration=OrderExpiration();
   string removal=(expiration>0 && OrderCloseTime()>=expiration) ? "expired" : "cancelled";
   ulong done=MtbSeenTime(MtbUtcMs((ulong)OrderCloseTime()*1000));
#endif
   m_link.NextEnvelope(env);
   MtbBuildOrderRemoved(w,env,ticket,removal,done);
   m_link.Send(w,"order_removed");
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
