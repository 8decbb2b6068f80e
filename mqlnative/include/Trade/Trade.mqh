//+------------------------------------------------------------------+
//| mqlnative: Trade/Trade.mqh - the MT5 standard library's CTrade,  |
//| the members the EAs use, with the documented signatures, written |
//| for mqlnative (not MetaQuotes' source). Like the real class it   |
//| builds an MqlTradeRequest and calls OrderSend; in particular:    |
//|  - PositionClosePartial / PositionCloseBy work on hedging        |
//|    accounts only: elsewhere they return false and leave the      |
//|    result zeroed (retcode 0), as the standard library does;      |
//|  - the filling check overrides the filling for Market execution |
//|    symbols (FOK, else IOC, else TRADE_RETCODE_INVALID_FILL);     |
//|  - PositionClose(ticket) sends the position's whole volume.      |
//| Valid MQL5 and valid C++: the translator may pass it through.    |
//+------------------------------------------------------------------+
#ifndef MQLNATIVE_TRADE_TRADE_MQH
#define MQLNATIVE_TRADE_TRADE_MQH

enum ENUM_LOG_LEVELS
  {
   LOG_LEVEL_NO=0,
   LOG_LEVEL_ERRORS=1,
   LOG_LEVEL_ALL=2
  };

class CTrade
  {
protected:
   MqlTradeRequest   m_request;
   MqlTradeResult    m_result;
   MqlTradeCheckResult m_check_result;
   bool              m_async_mode;
   ulong             m_magic;
   ulong             m_deviation;
   ENUM_ORDER_TYPE_FILLING m_type_filling;
   ENUM_ACCOUNT_MARGIN_MODE m_margin_mode;
   ENUM_LOG_LEVELS   m_log_level;

   //--- mqlnative's structures start zeroed, so fresh locals clear the members
   void              ClearStructures(void)
     {
      MqlTradeRequest request;
      MqlTradeResult result;
      MqlTradeCheckResult check_result;
      m_request=request;
      m_result=result;
      m_check_result=check_result;
     }
   bool              IsHedging(void) const { return(m_margin_mode==ACCOUNT_MARGIN_MODE_RETAIL_HEDGING); }
   //--- the program was asked to stop: nothing is sent
   bool              IsStopped(const string function)
     {
      if(!::IsStopped())
         return(false);
      if(m_log_level>LOG_LEVEL_NO)
         PrintFormat("%s: the program is stopped, trading is disabled",function);
      m_result.retcode=TRADE_RETCODE_CLIENT_DISABLES_AT;
      m_result.comment="Program stopped";
      return(true);
     }
   //--- the filling policy the symbol's execution mode needs (false: none fits; retcode set)
   bool              FillingCheck(const string symbol)
     {
      ENUM_SYMBOL_TRADE_EXECUTION exec=(ENUM_SYMBOL_TRADE_EXECUTION)SymbolInfoInteger(symbol,SYMBOL_TRADE_EXEMODE);
      if(exec==SYMBOL_TRADE_EXECUTION_REQUEST || exec==SYMBOL_TRADE_EXECUTION_INSTANT)
         return(true);
      long filling=SymbolInfoInteger(symbol,SYMBOL_FILLING_MODE);
      if(exec==SYMBOL_TRADE_EXECUTION_MARKET)
        {
         if(m_request.action==TRADE_ACTION_PENDING)
            return(true);
         if((filling&SYMBOL_FILLING_FOK)==SYMBOL_FILLING_FOK)
           {
            m_type_filling=ORDER_FILLING_FOK;
            m_request.type_filling=m_type_filling;
            return(true);
           }
         if((filling&SYMBOL_FILLING_IOC)==SYMBOL_FILLING_IOC)
           {
            m_type_filling=ORDER_FILLING_IOC;
            m_request.type_filling=m_type_filling;
            return(true);
           }
         m_result.retcode=TRADE_RETCODE_INVALID_FILL;
         return(false);
        }
      //--- exchange execution: the chosen policy, if the symbol allows it
      if(m_type_filling==ORDER_FILLING_RETURN)
        {
         m_request.type_filling=m_type_filling;
         return(true);
        }
      if((m_type_filling==ORDER_FILLING_FOK && (filling&SYMBOL_FILLING_FOK)==SYMBOL_FILLING_FOK) ||
         (m_type_filling==ORDER_FILLING_IOC && (filling&SYMBOL_FILLING_IOC)==SYMBOL_FILLING_IOC))
        {
         m_request.type_filling=m_type_filling;
         return(true);
        }
      m_result.retcode=TRADE_RETCODE_INVALID_FILL;
      return(false);
     }
   //--- hedging: the first position of the symbol with this magic; netting: the symbol's position
   bool              SelectPosition(const string symbol)
     {
      if(!IsHedging())
         return(PositionSelect(symbol));
      int total=PositionsTotal();
      for(int i=0; i<total; i++)
         if(PositionGetSymbol(i)==symbol && (ulong)PositionGetInteger(POSITION_MAGIC)==m_magic)
            return(true);
      return(false);
     }
   //--- the closing side and price of the selected position
   void              ClosingSide(const string symbol)
     {
      if((ENUM_POSITION_TYPE)PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY)
        {
         m_request.type=ORDER_TYPE_SELL;
         m_request.price=SymbolInfoDouble(symbol,SYMBOL_BID);
        }
      else
        {
         m_request.type=ORDER_TYPE_BUY;
         m_request.price=SymbolInfoDouble(symbol,SYMBOL_ASK);
        }
     }

public:
                     CTrade(void)
     {
      m_async_mode=false;
      m_magic=0;
      m_deviation=10;
      m_type_filling=ORDER_FILLING_FOK;
      m_log_level=LOG_LEVEL_ERRORS;
      SetMarginMode();
     }
   //--- settings
   void              LogLevel(const ENUM_LOG_LEVELS log_level) { m_log_level=log_level; }
   void              SetAsyncMode(const bool mode) { m_async_mode=mode; }
   void              SetExpertMagicNumber(const ulong magic) { m_magic=magic; }
   void              SetDeviationInPoints(const ulong deviation) { m_deviation=deviation; }
   void              SetTypeFilling(const ENUM_ORDER_TYPE_FILLING filling) { m_type_filling=filling; }
   bool              SetTypeFillingBySymbol(const string symbol)
     {
      long filling=SymbolInfoInteger(symbol,SYMBOL_FILLING_MODE);
      if((filling&SYMBOL_FILLING_FOK)==SYMBOL_FILLING_FOK)
        {
         m_type_filling=ORDER_FILLING_FOK;
         return(true);
        }
      if((filling&SYMBOL_FILLING_IOC)==SYMBOL_FILLING_IOC)
        {
         m_type_filling=ORDER_FILLING_IOC;
         return(true);
        }
      return(false);
     }
   void              SetMarginMode(void) { m_margin_mode=(ENUM_ACCOUNT_MARGIN_MODE)AccountInfoInteger(ACCOUNT_MARGIN_MODE); }
   //--- the last request and result
   void              Request(MqlTradeRequest &request) const { request=m_request; }
   ulong             RequestMagic(void) const { return(m_request.magic); }
   string            RequestSymbol(void) const { return(m_request.symbol); }
   double            RequestVolume(void) const { return(m_request.volume); }
   double            RequestPrice(void) const { return(m_request.price); }
   double            RequestSL(void) const { return(m_request.sl); }
   double            RequestTP(void) const { return(m_request.tp); }
   ulong             RequestDeviation(void) const { return(m_request.deviation); }
   ENUM_ORDER_TYPE   RequestType(void) const { return(m_request.type); }
   ENUM_ORDER_TYPE_FILLING RequestTypeFilling(void) const { return(m_request.type_filling); }
   ulong             RequestPosition(void) const { return(m_request.position); }
   string            RequestComment(void) const { return(m_request.comment); }
   void              Result(MqlTradeResult &result) const { result=m_result; }
   uint              ResultRetcode(void) const { return(m_result.retcode); }
   int               ResultRetcodeExternal(void) const { return(m_result.retcode_external); }
   ulong             ResultDeal(void) const { return(m_result.deal); }
   ulong             ResultOrder(void) const { return(m_result.order); }
   double            ResultVolume(void) const { return(m_result.volume); }
   double            ResultPrice(void) const { return(m_result.price); }
   double            ResultBid(void) const { return(m_result.bid); }
   double            ResultAsk(void) const { return(m_result.ask); }
   string            ResultComment(void) const { return(m_result.comment); }
   void              CheckResult(MqlTradeCheckResult &check_result) const { check_result=m_check_result; }
   uint              CheckResultRetcode(void) const { return(m_check_result.retcode); }
   string            ResultRetcodeDescription(void) const
     {
      string text=CTrade::RetcodeText(m_result.retcode);
      if(m_result.comment!="")
         text=text+" ("+m_result.comment+")";
      return(text);
     }
   //--- the trade server's return codes, as the MQL5 Reference describes them
   static string     RetcodeText(const uint retcode)
     {
      switch(retcode)
        {
         case 0:                                  return("no result");
         case TRADE_RETCODE_REQUOTE:              return("requote");
         case TRADE_RETCODE_REJECT:               return("request rejected");
         case TRADE_RETCODE_CANCEL:               return("request canceled by trader");
         case TRADE_RETCODE_PLACED:               return("order placed");
         case TRADE_RETCODE_DONE:                 return("request completed");
         case TRADE_RETCODE_DONE_PARTIAL:         return("only part of the request was completed");
         case TRADE_RETCODE_ERROR:                return("request processing error");
         case TRADE_RETCODE_TIMEOUT:              return("request canceled by timeout");
         case TRADE_RETCODE_INVALID:              return("invalid request");
         case TRADE_RETCODE_INVALID_VOLUME:       return("invalid volume in the request");
         case TRADE_RETCODE_INVALID_PRICE:        return("invalid price in the request");
         case TRADE_RETCODE_INVALID_STOPS:        return("invalid stops in the request");
         case TRADE_RETCODE_TRADE_DISABLED:       return("trade is disabled");
         case TRADE_RETCODE_MARKET_CLOSED:        return("market is closed");
         case TRADE_RETCODE_NO_MONEY:             return("there is not enough money to complete the request");
         case TRADE_RETCODE_PRICE_CHANGED:        return("prices changed");
         case TRADE_RETCODE_PRICE_OFF:            return("there are no quotes to process the request");
         case TRADE_RETCODE_INVALID_EXPIRATION:   return("invalid order expiration date in the request");
         case TRADE_RETCODE_ORDER_CHANGED:        return("order state changed");
         case TRADE_RETCODE_TOO_MANY_REQUESTS:    return("too frequent requests");
         case TRADE_RETCODE_NO_CHANGES:           return("no changes in request");
         case TRADE_RETCODE_SERVER_DISABLES_AT:   return("autotrading disabled by server");
         case TRADE_RETCODE_CLIENT_DISABLES_AT:   return("autotrading disabled by client terminal");
         case TRADE_RETCODE_LOCKED:               return("request locked for processing");
         case TRADE_RETCODE_FROZEN:               return("order or position frozen");
         case TRADE_RETCODE_INVALID_FILL:         return("invalid order filling type");
         case TRADE_RETCODE_CONNECTION:           return("no connection with the trade server");
         case TRADE_RETCODE_ONLY_REAL:            return("operation is allowed only for live accounts");
         case TRADE_RETCODE_LIMIT_ORDERS:         return("the number of pending orders has reached the limit");
         case TRADE_RETCODE_LIMIT_VOLUME:         return("the volume of orders and positions for the symbol has reached the limit");
         case TRADE_RETCODE_INVALID_ORDER:        return("incorrect or prohibited order type");
         case TRADE_RETCODE_POSITION_CLOSED:      return("position with the specified identifier has already been closed");
         case TRADE_RETCODE_INVALID_CLOSE_VOLUME: return("a close volume exceeds the current position volume");
         case TRADE_RETCODE_CLOSE_ORDER_EXIST:    return("a close order already exists for a specified position");
         case TRADE_RETCODE_LIMIT_POSITIONS:      return("the number of open positions has reached the limit");
         case TRADE_RETCODE_REJECT_CANCEL:        return("the pending order activation request is rejected, the order is canceled");
         case TRADE_RETCODE_LONG_ONLY:            return("only long positions are allowed");
         case TRADE_RETCODE_SHORT_ONLY:           return("only short positions are allowed");
         case TRADE_RETCODE_CLOSE_ONLY:           return("only position closing is allowed");
         case TRADE_RETCODE_FIFO_CLOSE:           return("position closing is allowed only by FIFO rule");
         case TRADE_RETCODE_HEDGE_PROHIBITED:     return("opposite positions on a single symbol are disabled");
        }
      return("unknown retcode "+IntegerToString((long)retcode));
     }
   //--- the request as it is: OrderSend or OrderSendAsync
   bool              OrderSend(const MqlTradeRequest &request,MqlTradeResult &result)
     {
      ResetLastError();
      bool res=m_async_mode ? ::OrderSendAsync(request,result) : ::OrderSend(request,result);
      if(!res && m_log_level>LOG_LEVEL_NO)
         PrintFormat("CTrade::OrderSend: %s %.2f %s failed [%s]",
                     request.type==ORDER_TYPE_BUY ? "buy" : "sell",request.volume,request.symbol,
                     CTrade::RetcodeText(result.retcode));
      else
         if(res && m_log_level>LOG_LEVEL_ERRORS)
            PrintFormat("CTrade::OrderSend: %s %.2f %s [%s]",request.type==ORDER_TYPE_BUY ? "buy" : "sell",
                        request.volume,request.symbol,CTrade::RetcodeText(result.retcode));
      return(res);
     }
   //--- positions
   bool              PositionOpen(const string symbol,const ENUM_ORDER_TYPE order_type,const double volume,
                                  const double price,const double sl,const double tp,const string comment="")
     {
      if(IsStopped("CTrade::PositionOpen"))
         return(false);
      ClearStructures();
      if(order_type!=ORDER_TYPE_BUY && order_type!=ORDER_TYPE_SELL)
        {
         m_result.retcode=TRADE_RETCODE_INVALID;
         m_result.comment="Invalid order type";
         return(false);
        }
      m_request.action=TRADE_ACTION_DEAL;
      m_request.symbol=symbol;
      m_request.magic=m_magic;
      m_request.volume=volume;
      m_request.type=order_type;
      m_request.price=price;
      m_request.sl=sl;
      m_request.tp=tp;
      m_request.deviation=m_deviation;
      if(!FillingCheck(symbol))
         return(false);
      m_request.comment=comment;
      return(OrderSend(m_request,m_result));
     }
   bool              PositionModify(const string symbol,const double sl,const double tp)
     {
      if(IsStopped("CTrade::PositionModify"))
         return(false);
      ClearStructures();
      if(!SelectPosition(symbol))
         return(false);
      m_request.action=TRADE_ACTION_SLTP;
      m_request.symbol=symbol;
      m_request.magic=m_magic;
      m_request.sl=sl;
      m_request.tp=tp;
      m_request.position=(ulong)PositionGetInteger(POSITION_TICKET);
      return(OrderSend(m_request,m_result));
     }
   bool              PositionModify(const ulong ticket,const double sl,const double tp)
     {
      if(IsStopped("CTrade::PositionModify"))
         return(false);
      ClearStructures();
      if(!PositionSelectByTicket(ticket))
         return(false);
      m_request.action=TRADE_ACTION_SLTP;
      m_request.position=ticket;
      m_request.symbol=PositionGetString(POSITION_SYMBOL);
      m_request.magic=m_magic;
      m_request.sl=sl;
      m_request.tp=tp;
      return(OrderSend(m_request,m_result));
     }
   bool              PositionClose(const string symbol,const ulong deviation=ULONG_MAX)
     {
      if(IsStopped("CTrade::PositionClose"))
         return(false);
      ClearStructures();
      if(!FillingCheck(symbol))
         return(false);
      if(!SelectPosition(symbol))
        {
         m_result.retcode=TRADE_RETCODE_REJECT;
         return(false);
        }
      ClosingSide(symbol);
      m_request.action=TRADE_ACTION_DEAL;
      m_request.symbol=symbol;
      m_request.volume=PositionGetDouble(POSITION_VOLUME);
      m_request.magic=m_magic;
      m_request.deviation=(deviation==ULONG_MAX) ? m_deviation : deviation;
      if(IsHedging())
         m_request.position=(ulong)PositionGetInteger(POSITION_TICKET);
      return(OrderSend(m_request,m_result));
     }
   bool              PositionClose(const ulong ticket,const ulong deviation=ULONG_MAX)
     {
      if(IsStopped("CTrade::PositionClose"))
         return(false);
      ClearStructures();
      if(!PositionSelectByTicket(ticket))
         return(false);
      string symbol=PositionGetString(POSITION_SYMBOL);
      ClosingSide(symbol);
      m_request.action=TRADE_ACTION_DEAL;
      m_request.position=ticket;
      m_request.symbol=symbol;
      m_request.volume=PositionGetDouble(POSITION_VOLUME);
      m_request.magic=m_magic;
      m_request.deviation=(deviation==ULONG_MAX) ? m_deviation : deviation;
      if(!FillingCheck(symbol))
         return(false);
      return(OrderSend(m_request,m_result));
     }
   bool              PositionCloseBy(const ulong ticket,const ulong ticket_by)
     {
      if(IsStopped("CTrade::PositionCloseBy"))
         return(false);
      ClearStructures();
      if(!IsHedging())
         return(false);   // hedging accounts only, as the standard library
      if(!PositionSelectByTicket(ticket))
         return(false);
      m_request.symbol=PositionGetString(POSITION_SYMBOL);
      m_request.action=TRADE_ACTION_CLOSE_BY;
      m_request.position=ticket;
      m_request.position_by=ticket_by;
      m_request.magic=m_magic;
      return(OrderSend(m_request,m_result));
     }
   bool              PositionClosePartial(const string symbol,const double volume,const ulong deviation=ULONG_MAX)
     {
      if(IsStopped("CTrade::PositionClosePartial"))
         return(false);
      ClearStructures();
      if(!IsHedging())
         return(false);   // hedging accounts only, as the standard library
      if(!SelectPosition(symbol))
         return(false);
      return(PositionClosePartial((ulong)PositionGetInteger(POSITION_TICKET),volume,deviation));
     }
   bool              PositionClosePartial(const ulong ticket,const double volume,const ulong deviation=ULONG_MAX)
     {
      if(IsStopped("CTrade::PositionClosePartial"))
         return(false);
      ClearStructures();
      if(!IsHedging())
         return(false);   // hedging accounts only, as the standard library
      if(!PositionSelectByTicket(ticket))
         return(false);
      string symbol=PositionGetString(POSITION_SYMBOL);
      ClosingSide(symbol);
      double open=PositionGetDouble(POSITION_VOLUME);
      m_request.action=TRADE_ACTION_DEAL;
      m_request.position=ticket;
      m_request.symbol=symbol;
      m_request.volume=(open>volume) ? volume : open;
      m_request.magic=m_magic;
      m_request.deviation=(deviation==ULONG_MAX) ? m_deviation : deviation;
      if(!FillingCheck(symbol))
         return(false);
      return(OrderSend(m_request,m_result));
     }
   //--- market orders by side
   bool              Buy(const double volume,const string symbol="",double price=0.0,const double sl=0.0,
                         const double tp=0.0,const string comment="")
     {
      string name=(symbol=="") ? Symbol() : symbol;
      if(price==0.0)
         price=SymbolInfoDouble(name,SYMBOL_ASK);
      return(PositionOpen(name,ORDER_TYPE_BUY,volume,price,sl,tp,comment));
     }
   bool              Sell(const double volume,const string symbol="",double price=0.0,const double sl=0.0,
                          const double tp=0.0,const string comment="")
     {
      string name=(symbol=="") ? Symbol() : symbol;
      if(price==0.0)
         price=SymbolInfoDouble(name,SYMBOL_BID);
      return(PositionOpen(name,ORDER_TYPE_SELL,volume,price,sl,tp,comment));
     }
  };

#endif // MQLNATIVE_TRADE_TRADE_MQH
