//+------------------------------------------------------------------+
//| MtBridge/ProtocolCommands.mqh - wire protocol v1:                |
//| builders of the daemon -> terminal messages (welcome, redirect,  |
//| commands, error), used by the self-test and to re-encode a       |
//| parsed message (MtbBuildInbound).                                |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_PROTOCOLCOMMANDS_MQH
#define MTBRIDGE_PROTOCOLCOMMANDS_MQH

#ifdef __MQL4__
#property strict
#endif

#include "ProtocolReports.mqh"

//--- daemon -> terminal builders (used by the self-test and for re-encoding parsed messages)
bool MtbBuildWelcome(MpWriter &w,const MtbEnvelope &env,const ulong server_time,
                     const ulong heartbeat_ms,const bool resume,const ulong last_id,
                     const string &quote_symbols[])
  {
   int nq=ArraySize(quote_symbols);
   MtbWriteEnvelope(w,"welcome",env,3+(last_id>0 ? 1 : 0)+(ArraySize(quote_symbols)>0 ? 1 : 0));   // optional: left out at 0 / empty
   MtbKey(w,"server_time");
   w.UInt(server_time);
   MtbKey(w,"heartbeat_ms");
   w.UInt(heartbeat_ms);
   MtbKey(w,"resume");
   w.Bool(resume);
   if(last_id>0)
     {
      MtbKey(w,"last_id");
      w.UInt(last_id);
     }
   if(nq>0)
     {
      MtbKey(w,"quote_symbols");
      w.ArrayHeader(nq);
      for(int k=0; k<nq; k++)
         w.Str(quote_symbols[k]);
     }
   return(w.Ok());
  }

bool MtbBuildOpen(MpWriter &w,const MtbEnvelope &env,const string key,const string symbol,
                  const string side,const double volume,const double sl,const double tp,
                  const MTB_MAGIC magic,const string comment,const ulong expires)
  {
   MtbWriteEnvelope(w,"open",env,8+(expires>0 ? 1 : 0));   // optional: left out at 0
   MtbKey(w,"key");
   w.Str(key);
   MtbKey(w,"symbol");
   w.Str(symbol);
   MtbKey(w,"side");
   w.Str(side);
   MtbKey(w,"volume");
   w.Double(volume);
   MtbKey(w,"sl");
   w.Double(sl);
   MtbKey(w,"tp");
   w.Double(tp);
   MtbKey(w,"magic");
#ifdef __MQL5__
   w.UInt(magic);
#else
   w.Int(magic);
#endif
   MtbKey(w,"comment");
   w.Str(comment);
   if(expires>0)
     {
      MtbKey(w,"expires");
      w.UInt(expires);
     }
   return(w.Ok());
  }

bool MtbBuildClose(MpWriter &w,const MtbEnvelope &env,const string key,const ulong ticket,const double volume)
  {
   MtbWriteEnvelope(w,"close",env,3);
   MtbKey(w,"key");
   w.Str(key);
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"volume");
   w.Double(volume);
   return(w.Ok());
  }

bool MtbBuildModify(MpWriter &w,const MtbEnvelope &env,const string key,const ulong ticket,
                    const double sl,const double tp)
  {
   MtbWriteEnvelope(w,"modify",env,4);
   MtbKey(w,"key");
   w.Str(key);
   MtbKey(w,"ticket");
   w.UInt(ticket);
   MtbKey(w,"sl");
   w.Double(sl);
   MtbKey(w,"tp");
   w.Double(tp);
   return(w.Ok());
  }

bool MtbBuildError(MpWriter &w,const MtbEnvelope &env,const string code,const string detail,
                   const ulong ref_id,const string field)
  {
   MtbWriteEnvelope(w,"error",env,4);
   MtbKey(w,"code");
   w.Str(code);
   MtbKey(w,"detail");
   w.Str(detail);
   MtbKey(w,"ref_id");
   w.UInt(ref_id);
   MtbKey(w,"field");
   w.Str(field);
   return(w.Ok());
  }


//--- pending orders: daemon -> terminal commands
bool MtbBuildPlaceOrder(MpWriter &w,const MtbEnvelope &env,const string key,const string symbol,
                        const string order_type,const double volume,const double price,const double sl,
                        const double tp,const ulong expiration,const MTB_MAGIC magic,const string comment,
                        const double stoplimit)
  {
   MtbWriteEnvelope(w,"place_order",env,10+(stoplimit!=0.0 ? 1 : 0));
   MtbKey(w,"key");
   w.Str(key);
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
   MtbKey(w,"magic");
#ifdef __MQL5__
   w.UInt(magic);
#else
   w.Int(magic);
#endif
   MtbKey(w,"comment");
   w.Str(comment);
   if(stoplimit!=0.0)   // optional: left out at 0
     {
      MtbKey(w,"stoplimit");
      w.Double(stoplimit);
     }
   return(w.Ok());
  }

bool MtbBuildModifyOrder(MpWriter &w,const MtbEnvelope &env,const string key,const ulong ticket,
                         const double price,const double sl,const double tp,const ulong expiration,
                         const double stoplimit)
  {
   MtbWriteEnvelope(w,"modify_order",env,6+(stoplimit!=0.0 ? 1 : 0));
   MtbKey(w,"key");
   w.Str(key);
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
   if(stoplimit!=0.0)   // optional: left out at 0
     {
      MtbKey(w,"stoplimit");
      w.Double(stoplimit);
     }
   return(w.Ok());
  }

bool MtbBuildCancelOrder(MpWriter &w,const MtbEnvelope &env,const string key,const ulong ticket)
  {
   MtbWriteEnvelope(w,"cancel_order",env,2);
   MtbKey(w,"key");
   w.Str(key);
   MtbKey(w,"ticket");
   w.UInt(ticket);
   return(w.Ok());
  }

//--- redirect: this daemon does not serve the login (docs/protocol.md, daemons sharded by trader)
bool MtbBuildRedirect(MpWriter &w,const MtbEnvelope &env,const string shard,const string endpoint)
  {
   MtbWriteEnvelope(w,"redirect",env,2);
   MtbKey(w,"shard");
   w.Str(shard);
   MtbKey(w,"endpoint");
   w.Str(endpoint);
   return(w.Ok());
  }

//--- re-encode a parsed daemon message through the builders (self-test round trip)
bool MtbBuildInbound(MpWriter &w,const MtbInbound &m)
  {
   MtbEnvelope env;
   env.id=m.id;
   env.seq=m.seq;
   env.ts=m.ts;
   env.login=m.login;
   if(m.type=="welcome")
      return(MtbBuildWelcome(w,env,m.server_time,m.heartbeat_ms,m.resume,m.last_id,m.quote_symbols));
   if(m.type=="redirect")
      return(MtbBuildRedirect(w,env,m.shard,m.endpoint));
   if(m.type=="heartbeat")
      return(MtbBuildHeartbeat(w,env));
   if(m.type=="open")
      return(MtbBuildOpen(w,env,m.key,m.symbol,m.side,m.volume,m.sl,m.tp,m.magic,m.comment,m.expires));
   if(m.type=="close")
      return(MtbBuildClose(w,env,m.key,m.ticket,m.volume));
   if(m.type=="modify")
      return(MtbBuildModify(w,env,m.key,m.ticket,m.sl,m.tp));
   if(m.type=="error")
      return(MtbBuildError(w,env,m.code,m.detail,m.ref_id,m.field));
   if(m.type=="place_order")
      return(MtbBuildPlaceOrder(w,env,m.key,m.symbol,m.order_type,m.volume,m.price,m.sl,m.tp,m.expiration,
                                m.magic,m.comment,m.stoplimit));
   if(m.type=="modify_order")
      return(MtbBuildModifyOrder(w,env,m.key,m.ticket,m.price,m.sl,m.tp,m.expiration,m.stoplimit));
   if(m.type=="cancel_order")
      return(MtbBuildCancelOrder(w,env,m.key,m.ticket));
   w.Fail("not a daemon message type: "+m.type);
   return(false);
  }

#endif // MTBRIDGE_PROTOCOLCOMMANDS_MQH
