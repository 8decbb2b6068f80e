//+------------------------------------------------------------------+
//| MtBridge/ProtocolReports.mqh - wire protocol v1:                 |
//| builders of the terminal -> daemon messages (hello, heartbeat,   |
//| position and order reports, account_update, command_result,      |
//| quotes, orders_snapshot), body fields in schema order.           |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_PROTOCOLREPORTS_MQH
#define MTBRIDGE_PROTOCOLREPORTS_MQH

#ifdef __MQL4__
#property strict
#endif

#include "ProtocolSchema.mqh"

bool MtbBuildHello(MpWriter &w,const MtbEnvelope &env,const string role,const string platform,
                   const string account_type,const string currency,const ulong leverage,
                   const double balance,const double equity,const MtbPosition &positions[],
                   const long utc_offset_ms,const string margin_mode)
  {
   MtbWriteEnvelope(w,"hello",env,9+(margin_mode!="hedging" ? 1 : 0));   // optional: left out at hedging
   MtbKey(w,"role");
   w.Str(role);
   MtbKey(w,"platform");
   w.Str(platform);
   MtbKey(w,"account_type");
   w.Str(account_type);
   MtbKey(w,"currency");
   w.Str(currency);
   MtbKey(w,"leverage");
   w.UInt(leverage);
   MtbKey(w,"balance");
   w.Double(balance);
   MtbKey(w,"equity");
   w.Double(equity);
   MtbKey(w,"positions");
   int n=ArraySize(positions);
   w.ArrayHeader(n);
   for(int k=0; k<n; k++)
     {
      w.MapHeader(MtbPositionFieldCount(positions[k]));
      MtbWritePositionFields(w,positions[k]);
     }
   MtbKey(w,"utc_offset_ms");
   w.Int(utc_offset_ms);
   if(margin_mode!="hedging")
     {
      MtbKey(w,"margin_mode");
      w.Str(margin_mode);
     }
   return(w.Ok());
  }

bool MtbBuildHeartbeat(MpWriter &w,const MtbEnvelope &env)
  {
   MtbWriteEnvelope(w,"heartbeat",env,0);
   return(w.Ok());
  }

bool MtbBuildPositionOpened(MpWriter &w,const MtbEnvelope &env,const MtbPosition &p)
  {
   MtbWriteEnvelope(w,"position_opened",env,MtbPositionFieldCount(p));
   MtbWritePositionFields(w,p);
   return(w.Ok());
  }

bool MtbBuildPositionModified(MpWriter &w,const MtbEnvelope &env,const ulong ticket,
                              const double sl,const double tp,const ulong time,const double swap)
  {
   MtbWriteEnvelope(w,"position_modified",env,4+(swap!=0.0 ? 1 : 0));   // optional: left out at 0
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"sl");
   w.Double(sl);
   MtbKey(w,"tp");
   w.Double(tp);
   MtbKey(w,"time");
   w.UInt(time);
   if(swap!=0.0)
     {
      MtbKey(w,"swap");
      w.Double(swap);
     }
   return(w.Ok());
  }

bool MtbBuildPositionClosed(MpWriter &w,const MtbEnvelope &env,const ulong ticket,const double volume,
                            const double remaining,const double price,const ulong time,
                            const string reason,const double profit)
  {
   MtbWriteEnvelope(w,"position_closed",env,7);
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"volume");
   w.Double(volume);
   MtbKey(w,"remaining");
   w.Double(remaining);
   MtbKey(w,"price");
   w.Double(price);
   MtbKey(w,"time");
   w.UInt(time);
   MtbKey(w,"reason");
   w.Str(reason);
   MtbKey(w,"profit");
   w.Double(profit);
   return(w.Ok());
  }

bool MtbBuildAccountUpdate(MpWriter &w,const MtbEnvelope &env,const double balance,const double equity,
                           const double margin,const double free_margin,const ulong leverage)
  {
   MtbWriteEnvelope(w,"account_update",env,5);
   MtbKey(w,"balance");
   w.Double(balance);
   MtbKey(w,"equity");
   w.Double(equity);
   MtbKey(w,"margin");
   w.Double(margin);
   MtbKey(w,"free_margin");
   w.Double(free_margin);
   MtbKey(w,"leverage");
   w.UInt(leverage);
   return(w.Ok());
  }

bool MtbBuildCommandResult(MpWriter &w,const MtbEnvelope &env,const MtbResult &r)
  {
   MtbWriteEnvelope(w,"command_result",env,8);
   MtbKey(w,"key");
   w.Str(r.key);
   MtbKey(w,"ok");
   w.Bool(r.ok);
   MtbKey(w,"retcode");
   w.Int(r.retcode);
   MtbKey(w,"ticket");
   w.UInt(r.ticket);
   MtbKey(w,"price");
   w.Double(r.price);
   MtbKey(w,"volume");
   w.Double(r.volume);
   MtbKey(w,"time");
   w.UInt(r.time);
   MtbKey(w,"message");
   w.Str(r.message);
   return(w.Ok());
  }

//--- the latest quotes of the welcome's quote_symbols (1..MTB_MAX_QUOTES)
bool MtbBuildQuotes(MpWriter &w,const MtbEnvelope &env,const MtbQuote &quotes[])
  {
   int n=ArraySize(quotes);
   if(n<1 || n>MTB_MAX_QUOTES)
     {
      w.Fail(StringFormat("quotes: %d items, the protocol carries 1..%d",n,MTB_MAX_QUOTES));
      return(false);
     }
   MtbWriteEnvelope(w,"quotes",env,1);
   MtbKey(w,"quotes");
   w.ArrayHeader(n);
   for(int k=0; k<n; k++)
     {
      w.MapHeader(4);
      MtbKey(w,"symbol");
      w.Str(quotes[k].symbol);
      MtbKey(w,"bid");
      w.Double(quotes[k].bid);
      MtbKey(w,"ask");
      w.Double(quotes[k].ask);
      MtbKey(w,"time");
      w.UInt(quotes[k].time);
     }
   return(w.Ok());
  }


//--- pending orders (issue 15 item 6): terminal -> daemon reports
bool MtbBuildOrderPlaced(MpWriter &w,const MtbEnvelope &env,const ulong ticket,const string symbol,
                         const string order_type,const double volume,const double price,const double sl,
                         const double tp,const ulong expiration,const ulong time,const double stoplimit,
                         const long magic)
  {
   MtbWriteEnvelope(w,"order_placed",env,9+(stoplimit!=0.0 ? 1 : 0)+(magic!=0 ? 1 : 0));
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"symbol");
   w.Str(symbol);
   MtbKey(w,"order_type");
   w.Str(order_type);
   MtbKey(w,"volume");
   w.Double(volume);
   MtbKey(w,"price");
   w.Double(price);
   MtbKey(w,"sl");
   w.Double(sl);
   MtbKey(w,"tp");
   w.Double(tp);
   MtbKey(w,"expiration");
   w.UInt(expiration);
   MtbKey(w,"time");
   w.UInt(time);
   if(stoplimit!=0.0)   // optional: left out at 0
     {
      MtbKey(w,"stoplimit");
      w.Double(stoplimit);
     }
   if(magic!=0)   // optional: left out at 0
     {
      MtbKey(w,"magic");
      w.Int(magic);
     }
   return(w.Ok());
  }

bool MtbBuildOrderModified(MpWriter &w,const MtbEnvelope &env,const ulong ticket,const double price,
                           const double sl,const double tp,const ulong expiration,const ulong time,
                           const double stoplimit)
  {
   MtbWriteEnvelope(w,"order_modified",env,6+(stoplimit!=0.0 ? 1 : 0));
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"price");
   w.Double(price);
   MtbKey(w,"sl");
   w.Double(sl);
   MtbKey(w,"tp");
   w.Double(tp);
   MtbKey(w,"expiration");
   w.UInt(expiration);
   MtbKey(w,"time");
   w.UInt(time);
   if(stoplimit!=0.0)   // optional: left out at 0
     {
      MtbKey(w,"stoplimit");
      w.Double(stoplimit);
     }
   return(w.Ok());
  }

bool MtbBuildOrderRemoved(MpWriter &w,const MtbEnvelope &env,const ulong ticket,const string removal,
                          const ulong time)
  {
   MtbWriteEnvelope(w,"order_removed",env,3);
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"removal");
   w.Str(removal);
   MtbKey(w,"time");
   w.UInt(time);
   return(w.Ok());
  }

bool MtbBuildOrderFilled(MpWriter &w,const MtbEnvelope &env,const ulong ticket,const ulong position,
                         const string symbol,const string side,const double volume,const double price,
                         const double sl,const double tp,const ulong time,const long magic)
  {
   MtbWriteEnvelope(w,"order_filled",env,9+(magic!=0 ? 1 : 0));
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"position");
   w.UInt(position);
   MtbKey(w,"symbol");
   w.Str(symbol);
   MtbKey(w,"side");
   w.Str(side);
   MtbKey(w,"volume");
   w.Double(volume);
   MtbKey(w,"price");
   w.Double(price);
   MtbKey(w,"sl");
   w.Double(sl);
   MtbKey(w,"tp");
   w.Double(tp);
   MtbKey(w,"time");
   w.UInt(time);
   if(magic!=0)   // optional: left out at 0
     {
      MtbKey(w,"magic");
      w.Int(magic);
     }
   return(w.Ok());
  }

//--- every pending order on the account, after each welcome (issue 15 item 1)
bool MtbBuildOrdersSnapshot(MpWriter &w,const MtbEnvelope &env,const MtbOrder &orders[])
  {
   MtbWriteEnvelope(w,"orders_snapshot",env,1);
   MtbKey(w,"orders");
   int n=ArraySize(orders);
   w.ArrayHeader(n);
   for(int k=0; k<n; k++)
     {
      w.MapHeader(9+(orders[k].stoplimit!=0.0 ? 1 : 0)+(orders[k].magic!=0 ? 1 : 0));
      MtbKey(w,"ticket");
      w.UInt(orders[k].ticket);
      MtbKey(w,"symbol");
      w.Str(orders[k].symbol);
      MtbKey(w,"order_type");
      w.Str(orders[k].order_type);
      MtbKey(w,"volume");
      w.Double(orders[k].volume);
      MtbKey(w,"price");
      w.Double(orders[k].price);
      MtbKey(w,"sl");
      w.Double(orders[k].sl);
      MtbKey(w,"tp");
      w.Double(orders[k].tp);
      MtbKey(w,"expiration");
      w.UInt(orders[k].expiration);
      MtbKey(w,"time");
      w.UInt(orders[k].time);
      if(orders[k].stoplimit!=0.0)   // optional: left out at 0
        {
         MtbKey(w,"stoplimit");
         w.Double(orders[k].stoplimit);
        }
      if(orders[k].magic!=0)   // optional: left out at 0
        {
         MtbKey(w,"magic");
         w.Int(orders[k].magic);
        }
     }
   return(w.Ok());
  }

#endif // MTBRIDGE_PROTOCOLREPORTS_MQH
