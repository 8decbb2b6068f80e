//+------------------------------------------------------------------+
//| MtBridge/Protocol.mqh - wire protocol v1 (docs/protocol.md)      |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//| MTB_SCHEMA is the message table of bridge/protocol/schema.py;    |
//| tests/mql checks both tables and the key order of every builder. |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_PROTOCOL_MQH
#define MTBRIDGE_PROTOCOL_MQH

#ifdef __MQL4__
#property strict
#endif

#include "MsgPack.mqh"

#define MTB_PROTOCOL_VERSION 1
#define MTB_MAX_VOLUME       10000.0
#define MTB_MAX_EXACT_INT    9007199254740992.0
#define MTB_MAX_AMOUNT       1000000000000.0   // money and prices: |x| <= 1e12 (MAX_AMOUNT)
#define MTB_MIN_MAGNITUDE    0.00000001        // a number other than 0: |x| >= 1e-8 (MIN_MAGNITUDE)
#define MTB_MAX_QUOTES       32                // quotes.quotes 1..32, welcome.quote_symbols 0..32 (MAX_QUOTES)

//--- the magic number as the platform's trade functions take it: MT5 ulong
//--- (MqlTradeRequest.magic), MT4 int (OrderSend); the protocol carries any int64/uint64
#ifdef __MQL5__
#define MTB_MAGIC ulong
#else
#define MTB_MAGIC long
#endif

//--- "type|directions|field:kind,..."; directions d = terminal->daemon, t = daemon->terminal.
//--- kinds: U uint, I int, B bool, T text, N non-empty text, E enum, M money, P price,
//--- V volume (>0), Z volume0 (>=0), A array of position maps, Q array of 1..32 quote maps,
//--- S array of 0..32 non-empty str, O array of 0..512 order maps (MTB_ORDER); a trailing ? =
//--- optional (may be absent, reads as 0 / empty; an enum as its first choice).
const string MTB_ENVELOPE="v:U,type:N,id:U,seq:U,ts:U,login:U";
const string MTB_POSITION="ticket:U,symbol:N,side:E,volume:V,price:P,sl:P,tp:P,time:U,magic:I,comment:T,swap:M?";
const string MTB_QUOTE="symbol:N,bid:P,ask:P,time:U";
const string MTB_ORDER="ticket:U,symbol:N,order_type:E,volume:V,price:P,sl:P,tp:P,expiration:U,time:U,stoplimit:P?,magic:I?";
const string MTB_SCHEMA[]=
  {
   "hello|d|role:E,platform:E,account_type:N,currency:N,leverage:U,balance:M,equity:M,positions:A,utc_offset_ms:I,margin_mode:E?",
   "heartbeat|dt|",
   "position_opened|d|ticket:U,symbol:N,side:E,volume:V,price:P,sl:P,tp:P,time:U,magic:I,comment:T,swap:M?",
   "position_modified|d|ticket:U,sl:P,tp:P,time:U,swap:M?",
   "position_closed|d|ticket:U,volume:V,remaining:Z,price:P,time:U,reason:E,profit:M",
   "account_update|d|balance:M,equity:M,margin:P,free_margin:M,leverage:U",
   "command_result|d|key:N,ok:B,retcode:I,ticket:U,price:P,volume:Z,time:U,message:T",
   "quotes|d|quotes:Q",
   "welcome|t|server_time:U,heartbeat_ms:U,resume:B,last_id:U?,quote_symbols:S?",
   "redirect|t|shard:N,endpoint:T",
   "open|t|key:N,symbol:N,side:E,volume:V,sl:P,tp:P,magic:I,comment:T,expires:U?",
   "close|t|key:N,ticket:U,volume:V",
   "modify|t|key:N,ticket:U,sl:P,tp:P",
   "error|t|code:N,detail:T,ref_id:U,field:T",
   "order_placed|d|ticket:U,symbol:N,order_type:E,volume:V,price:P,sl:P,tp:P,expiration:U,time:U,stoplimit:P?,magic:I?",
   "order_modified|d|ticket:U,price:P,sl:P,tp:P,expiration:U,time:U,stoplimit:P?",
   "order_removed|d|ticket:U,removal:E,time:U",
   "order_filled|d|ticket:U,position:U,symbol:N,side:E,volume:V,price:P,sl:P,tp:P,time:U,magic:I?",
   "place_order|t|key:N,symbol:N,order_type:E,volume:V,price:P,sl:P,tp:P,expiration:U,magic:I,comment:T,stoplimit:P?",
   "modify_order|t|key:N,ticket:U,price:P,sl:P,tp:P,expiration:U,stoplimit:P?",
   "cancel_order|t|key:N,ticket:U",
   "orders_snapshot|d|orders:O"
  };
//--- enum choices, "field:choice|choice"
const string MTB_ENUMS[]=
  {
   "side:buy|sell",
   "role:trader|investor",
   "platform:MT4|MT5",
   "reason:client|sl|tp|so",
   "order_type:buy_limit|sell_limit|buy_stop|sell_stop|buy_stop_limit|sell_stop_limit",
   "removal:cancelled|expired",
   "margin_mode:hedging|netting"
  };

//--- int ranges, "field:low:high" inclusive (docs/protocol.md section 3, "Ranges"; the
//--- schema's FieldSpec.int_range, checked by tests/mql). A field not listed takes any
//--- int64/uint64 (magic).
const string MTB_RANGES[]=
  {
   "id:0:9223372036854775807",
   "seq:0:9223372036854775807",
   "ts:0:253402300799999",
   "login:0:9223372036854775807",
   "ticket:0:9223372036854775807",
   "time:0:253402300799999",
   "leverage:1:1000000",
   "utc_offset_ms:-50400000:50400000",
   "retcode:-2147483648:4294967295",
   "server_time:0:253402300799999",
   "heartbeat_ms:1:253402300799999",
   "last_id:0:9223372036854775807",
   "expires:0:253402300799999",
   "ref_id:0:9223372036854775807",
   "position:0:9223372036854775807",
   "expiration:0:253402300799999"
  };

//--- envelope of one message
struct MtbEnvelope
  {
   ulong             id;
   ulong             seq;
   ulong             ts;
   ulong             login;
  };

//--- position map (section 4)
struct MtbPosition
  {
   ulong             ticket;
   string            symbol;
   string            side;
   double            volume;
   double            price;
   double            sl;
   double            tp;
   ulong             time;
   long              magic;
   string            comment;
   double            swap;                      // optional on the wire: left out at 0
  };

//--- one pending order, as orders_snapshot carries it (order_placed's body)
struct MtbOrder
  {
   ulong             ticket;
   string            symbol;
   string            order_type;
   double            volume;
   double            price;
   double            sl;
   double            tp;
   ulong             expiration;
   ulong             time;
   double            stoplimit;                 // optional on the wire: left out at 0
   long              magic;                     // optional on the wire: left out at 0
  };

//--- command_result body
struct MtbResult
  {
   string            key;
   bool              ok;
   long              retcode;
   ulong             ticket;
   double            price;
   double            volume;
   ulong             time;
   string            message;
  };

//--- one quote of a `quotes` message (the daemon's conversion rates)
struct MtbQuote
  {
   string            symbol;
   double            bid;
   double            ask;
   ulong             time;          // UTC ms
  };

//--- a decoded daemon -> terminal message (fields of all such types)
struct MtbInbound
  {
   string            type;
   ulong             id;
   ulong             seq;
   ulong             ts;
   ulong             login;
   ulong             server_time;   // welcome
   ulong             heartbeat_ms;
   bool              resume;
   string            key;           // open, close, modify
   string            symbol;
   string            side;
   double            volume;
   double            sl;
   double            tp;
   MTB_MAGIC         magic;
   string            comment;
   ulong             expires;       // open: UTC ms, 0 = no deadline
   ulong             last_id;       // welcome: highest id of ours the daemon journaled, 0 = none
   string            quote_symbols[]; // welcome: the symbols to report in `quotes` (may be empty)
   string            shard;         // redirect: the login's shard
   string            endpoint;      // redirect: its owner's endpoint ("" = no owner right now)
   ulong             ticket;
   string            code;          // error
   string            detail;
   ulong             ref_id;
   string            field;
   string            order_type;    // place_order
   double            price;         // place_order, modify_order
   double            stoplimit;     // place_order, modify_order: a stop-limit's Limit price, 0 = none
   ulong             expiration;    // place_order, modify_order: UTC ms, 0 = good till cancelled
   string            unrepresentable; // command: why this terminal cannot carry it out exactly ("" = it can);
                                      // set by the parser, answered command_result 10013 (Executor.mqh)
  };

//+------------------------------------------------------------------+
//| Schema look-ups                                                  |
//+------------------------------------------------------------------+
//--- index of `type` in MTB_SCHEMA, or -1
int MtbSchemaIndex(const string type)
  {
   for(int k=0; k<ArraySize(MTB_SCHEMA); k++)
     {
      int bar=StringFind(MTB_SCHEMA[k],"|");
      if(bar>0 && StringSubstr(MTB_SCHEMA[k],0,bar)==type)
         return(k);
     }
   return(-1);
  }

string MtbSchemaPart(const int index,const int part)
  {
   string parts[];
   if(StringSplit(MTB_SCHEMA[index],'|',parts)<3)
      return("");
   return(parts[part]);
  }

//--- "name:kind,..." -> parallel arrays; returns the field count
int MtbSplitFields(const string spec,string &names[],string &kinds[])
  {
   ArrayResize(names,0);
   ArrayResize(kinds,0);
   if(spec=="")
      return(0);
   string items[];
   int n=StringSplit(spec,',',items);
   ArrayResize(names,n);
   ArrayResize(kinds,n);
   for(int k=0; k<n; k++)
     {
      int colon=StringFind(items[k],":");
      names[k]=StringSubstr(items[k],0,colon);
      kinds[k]=StringSubstr(items[k],colon+1);
     }
   return(n);
  }

bool MtbIntRange(const string field,long &low,long &high)
  {
   for(int k=0; k<ArraySize(MTB_RANGES); k++)
     {
      string parts[];
      if(StringSplit(MTB_RANGES[k],':',parts)!=3 || parts[0]!=field)
         continue;
      low=StringToInteger(parts[1]);
      high=StringToInteger(parts[2]);
      return(true);
     }
   return(false);
  }

bool MtbEnumAllows(const string field,const string value)
  {
   for(int k=0; k<ArraySize(MTB_ENUMS); k++)
     {
      int colon=StringFind(MTB_ENUMS[k],":");
      if(StringSubstr(MTB_ENUMS[k],0,colon)!=field)
         continue;
      string choices[];
      int n=StringSplit(StringSubstr(MTB_ENUMS[k],colon+1),'|',choices);
      for(int j=0; j<n; j++)
         if(choices[j]==value)
            return(true);
      return(false);
     }
   return(false);
  }

//+------------------------------------------------------------------+
//| Builders: envelope, then body fields in schema order             |
//+------------------------------------------------------------------+
void MtbKey(MpWriter &w,const string name)
  {
   w.Str(name);
  }

void MtbWriteEnvelope(MpWriter &w,const string type,const MtbEnvelope &env,const int body_fields)
  {
   w.MapHeader(6+body_fields);
   MtbKey(w,"v");
   w.UInt(MTB_PROTOCOL_VERSION);
   MtbKey(w,"type");
   w.Str(type);
   MtbKey(w,"id");
   w.UInt(env.id);
   MtbKey(w,"seq");
   w.UInt(env.seq);
   MtbKey(w,"ts");
   w.UInt(env.ts);
   MtbKey(w,"login");
   w.UInt(env.login);
  }

//--- how many fields a position map has: ten, and swap when it is not 0
int MtbPositionFieldCount(const MtbPosition &p)
  {
   return(10+(p.swap!=0.0 ? 1 : 0));
  }

//--- the position fields (hello.positions element, position_opened body)
void MtbWritePositionFields(MpWriter &w,const MtbPosition &p)
  {
   MtbKey(w,"ticket");
   w.UInt(p.ticket);
   MtbKey(w,"symbol");
   w.Str(p.symbol);
   MtbKey(w,"side");
   w.Str(p.side);
   MtbKey(w,"volume");
   w.Double(p.volume);
   MtbKey(w,"price");
   w.Double(p.price);
   MtbKey(w,"sl");
   w.Double(p.sl);
   MtbKey(w,"tp");
   w.Double(p.tp);
   MtbKey(w,"time");
   w.UInt(p.time);
   MtbKey(w,"magic");
   w.Int(p.magic);
   MtbKey(w,"comment");
   w.Str(p.comment);
   if(p.swap!=0.0)
     {
      MtbKey(w,"swap");
      w.Double(p.swap);
     }
  }

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

//+------------------------------------------------------------------+
//| Validation (docs/protocol.md section 8 order) and parsing        |
//+------------------------------------------------------------------+
//--- check one value against its kind; sets code on failure
bool MtbCheckValue(const MpDoc &doc,const int node,const string name,const string kind,string &code)
  {
   ulong u=0;
   long i=0;
   bool b=false;
   double d=0.0;
   string s="";
   int t=doc.Type(node);
   if(kind=="U")
     {
      if(t==MP_T_NINT)
        { code="negative_value"; return(false); }
      if(!doc.GetUInt(node,u))
        { code="wrong_type"; return(false); }
      long lo=0,hi=0;
      if(MtbIntRange(name,lo,hi) && (u>(ulong)hi || (long)u<lo))
        { code="out_of_range"; return(false); }
      return(true);
     }
   if(kind=="I")
     {
      if(t!=MP_T_UINT && t!=MP_T_NINT)
        { code="wrong_type"; return(false); }   // any int64 or uint64, as in the protocol
      long lo=0,hi=0;
      if(!MtbIntRange(name,lo,hi))
         return(true);
      if(t==MP_T_UINT)
        {
         doc.GetUInt(node,u);
         if(u>(ulong)hi || (lo>0 && u<(ulong)lo))
           { code="out_of_range"; return(false); }
         return(true);
        }
      doc.GetInt(node,i);
      if(i<lo || i>hi)
        { code="out_of_range"; return(false); }
      return(true);
     }
   if(kind=="B")
     {
      if(!doc.GetBool(node,b))
        { code="wrong_type"; return(false); }
      return(true);
     }
   if(kind=="T" || kind=="N" || kind=="E")
     {
      if(!doc.GetStr(node,s))
        { code="wrong_type"; return(false); }
      bool nul=doc.StrHasNul(node);   // s ends at the NUL; the bytes go on
      if(kind=="N" && s=="" && !nul)
        { code="empty_string"; return(false); }
      if(kind=="E" && (nul || !MtbEnumAllows(name,s)))
        { code="bad_enum"; return(false); }
      return(true);
     }
   if(kind=="M" || kind=="P" || kind=="V" || kind=="Z")
     {
      if(t!=MP_T_FLOAT && t!=MP_T_UINT && t!=MP_T_NINT)
        { code="wrong_type"; return(false); }
      if(t==MP_T_FLOAT && !MathIsValidNumber(doc.FloatOf(node)))
        { code="not_finite"; return(false); }
      if(!doc.GetNumber(node,d))
        { code="inexact_number"; return(false); }
      if(kind!="M" && d<0.0)
        { code="negative_value"; return(false); }
      if(kind=="V" && d==0.0)
        { code="zero_volume"; return(false); }
      if((kind=="V" || kind=="Z") && d>MTB_MAX_VOLUME)
        { code="volume_too_large"; return(false); }
      if((kind=="M" || kind=="P") && MathAbs(d)>MTB_MAX_AMOUNT)
        { code="out_of_range"; return(false); }
      if(d!=0.0 && MathAbs(d)<MTB_MIN_MAGNITUDE)
        { code="out_of_range"; return(false); }
      return(true);
     }
   if(kind=="S")
     {
      if(t!=MP_T_ARRAY)
        { code="wrong_type"; return(false); }
      int n=doc.Len(node);
      if(n>MTB_MAX_QUOTES)
        { code="out_of_range"; return(false); }
      for(int k=0; k<n; k++)
        {
         int item=doc.Child(node,k);
         if(!doc.GetStr(item,s))
           { code="wrong_type"; return(false); }
         if(s=="" && !doc.StrHasNul(item))
           { code="empty_string"; return(false); }
        }
      return(true);
     }
   code="wrong_type";   // kinds A, Q and O never reach the terminal
   return(false);
  }

//--- how many optional fields (kind ending in ?) the map leaves out
int MtbOptionalAbsent(const MpDoc &doc,const int root,const string &names[],const string &kinds[])
  {
   int n=0;
   for(int k=0; k<ArraySize(names); k++)
      if(StringFind(kinds[k],"?")>=0 && doc.MapFind(root,names[k])<0)
         n++;
   return(n);
  }

//--- validate map `root` as a daemon -> terminal message; fills type, code and field on failure
bool MtbValidateInbound(const MpDoc &doc,const int root,string &type,string &code,string &field)
  {
   type="";
   code="";
   field="";
   if(doc.Type(root)!=MP_T_MAP)
     { code="not_a_map"; return(false); }
   int pairs=doc.Len(root);
   //--- keys: strings, no duplicates
   for(int k=0; k<pairs; k++)
     {
      int kn=doc.Child(root,2*k);
      if(doc.Type(kn)!=MP_T_STR)
        { code="extra_field"; return(false); }
      for(int j=0; j<k; j++)
         if(doc.StrOf(doc.Child(root,2*j))==doc.StrOf(kn))
           { code="duplicate_field"; field=doc.StrOf(kn); return(false); }
     }
   ulong v=0;
   int vn=doc.MapFind(root,"v");
   if(vn<0)
     { code="missing_field"; field="v"; return(false); }
   if(!doc.GetUInt(vn,v))
     { code="wrong_type"; field="v"; return(false); }
   if(v!=MTB_PROTOCOL_VERSION)
     { code="unsupported_version"; field="v"; return(false); }
   int tn=doc.MapFind(root,"type");
   if(tn<0)
     { code="missing_field"; field="type"; return(false); }
   if(!doc.GetStr(tn,type))
     { code="wrong_type"; field="type"; return(false); }
   int index=doc.StrHasNul(tn) ? -1 : MtbSchemaIndex(type);
   if(index<0)
     { code="unknown_type"; field="type"; return(false); }
   if(StringFind(MtbSchemaPart(index,1),"t")<0)
     { code="wrong_direction"; field="type"; return(false); }
   string names[],kinds[],bnames[],bkinds[];
   int ne=MtbSplitFields(MTB_ENVELOPE,names,kinds);
   int nb=MtbSplitFields(MtbSchemaPart(index,2),bnames,bkinds);
   ArrayResize(names,ne+nb);
   ArrayResize(kinds,ne+nb);
   for(int k=0; k<nb; k++)
     {
      names[ne+k]=bnames[k];
      kinds[ne+k]=bkinds[k];
     }
   int total=ne+nb;
   for(int k=0; k<total; k++)
      if(doc.MapFind(root,names[k])<0 && StringFind(kinds[k],"?")<0)
        { code="missing_field"; field=names[k]; return(false); }
   if(pairs!=total-MtbOptionalAbsent(doc,root,names,kinds))
     {
      for(int k=0; k<pairs; k++)
        {
         string kname=doc.StrOf(doc.Child(root,2*k));
         bool known=false;
         for(int j=0; j<total; j++)
            if(names[j]==kname)
               known=true;
         if(!known)
           { code="extra_field"; field=kname; return(false); }
        }
     }
   for(int k=2; k<total; k++)
      if(doc.MapFind(root,names[k])>=0 && !MtbCheckValue(doc,doc.MapFind(root,names[k]),names[k],StringSubstr(kinds[k],0,1),code))
        { field=names[k]; return(false); }
   return(true);
  }

//--- a validated str field; a NUL byte in it makes the message unrepresentable here
//--- (m.unrepresentable = "<field>: <why>", the first such field)
void MtbReadText(const MpDoc &doc,const string name,string &v,MtbInbound &m)
  {
   int n=doc.MapFind(0,name);
   doc.GetStr(n,v);
   if(doc.StrHasNul(n) && m.unrepresentable=="")
      m.unrepresentable=name+": holds a NUL byte, which an MQL string cannot carry";
  }

//--- a validated int field as this platform's magic number
void MtbReadMagic(const MpDoc &doc,MtbInbound &m)
  {
   int n=doc.MapFind(0,"magic");
   bool fits=false;
   if(doc.Type(n)==MP_T_UINT)
     {
      ulong u=doc.UIntOf(n);
#ifdef __MQL5__
      m.magic=u;
      fits=true;
#else
      m.magic=(long)u;
      fits=(u<=(ulong)INT_MAX);
#endif
     }
   else if(doc.Type(n)==MP_T_NINT)
     {
      long i=doc.NIntOf(n);
      m.magic=(MTB_MAGIC)i;
#ifdef __MQL5__
      fits=false;
#else
      fits=(i>=(long)INT_MIN);
#endif
     }
   if(!fits && m.unrepresentable=="")
#ifdef __MQL5__
      m.unrepresentable="magic: negative, MT5 magic numbers are ulong";
#else
      m.unrepresentable="magic: outside MT4's int range";
#endif
  }

//--- decode and validate one frame from the daemon into m; err gets "code field: detail"
bool MtbParseInbound(const uchar &frame[],const int len,MtbInbound &m,string &err)
  {
   err="";
   MpDoc doc;
   if(!doc.Parse(frame,len))
     {
      err="not_msgpack: "+doc.Error();
      return(false);
     }
   string type,code,field;
   if(!MtbValidateInbound(doc,0,type,code,field))
     {
      err=code+" "+field;
      return(false);
     }
   m.type=type;
   doc.GetUInt(doc.MapFind(0,"id"),m.id);
   doc.GetUInt(doc.MapFind(0,"seq"),m.seq);
   doc.GetUInt(doc.MapFind(0,"ts"),m.ts);
   doc.GetUInt(doc.MapFind(0,"login"),m.login);
   m.server_time=0;
   m.heartbeat_ms=0;
   m.resume=false;
   m.key="";
   m.symbol="";
   m.side="";
   m.volume=0.0;
   m.sl=0.0;
   m.tp=0.0;
   m.magic=0;
   m.comment="";
   m.expires=0;
   m.ticket=0;
   m.code="";
   m.detail="";
   m.ref_id=0;
   m.field="";
   m.order_type="";
   m.price=0.0;
   m.expiration=0;
   m.unrepresentable="";
   m.shard="";
   m.endpoint="";
   ArrayResize(m.quote_symbols,0);
   if(type=="redirect")
     {
      MtbReadText(doc,"shard",m.shard,m);
      MtbReadText(doc,"endpoint",m.endpoint,m);
     }
   else if(type=="welcome")
     {
      doc.GetUInt(doc.MapFind(0,"server_time"),m.server_time);
      doc.GetUInt(doc.MapFind(0,"heartbeat_ms"),m.heartbeat_ms);
      doc.GetBool(doc.MapFind(0,"resume"),m.resume);
      m.last_id=0;
      if(doc.MapFind(0,"last_id")>=0)
         doc.GetUInt(doc.MapFind(0,"last_id"),m.last_id);
      int qs=doc.MapFind(0,"quote_symbols");
      int nq=(qs>=0) ? doc.Len(qs) : 0;
      ArrayResize(m.quote_symbols,nq);
      for(int k=0; k<nq; k++)
        {
         int item=doc.Child(qs,k);
         doc.GetStr(item,m.quote_symbols[k]);
         if(doc.StrHasNul(item) && m.unrepresentable=="")
            m.unrepresentable="quote_symbols: a symbol holds a NUL byte, which an MQL string cannot carry";
        }
     }
   else if(type=="open" || type=="close" || type=="modify")
     {
      MtbReadText(doc,"key",m.key,m);
      if(type=="open")
        {
         MtbReadText(doc,"symbol",m.symbol,m);
         doc.GetStr(doc.MapFind(0,"side"),m.side);
         doc.GetNumber(doc.MapFind(0,"volume"),m.volume);
         doc.GetNumber(doc.MapFind(0,"sl"),m.sl);
         doc.GetNumber(doc.MapFind(0,"tp"),m.tp);
         MtbReadMagic(doc,m);
         MtbReadText(doc,"comment",m.comment,m);
         if(doc.MapFind(0,"expires")>=0)
            doc.GetUInt(doc.MapFind(0,"expires"),m.expires);
        }
      else
        {
         doc.GetUInt(doc.MapFind(0,"ticket"),m.ticket);
         if(type=="close")
            doc.GetNumber(doc.MapFind(0,"volume"),m.volume);
         else
           {
            doc.GetNumber(doc.MapFind(0,"sl"),m.sl);
            doc.GetNumber(doc.MapFind(0,"tp"),m.tp);
           }
        }
     }
   else if(type=="place_order" || type=="modify_order" || type=="cancel_order")
     {
      MtbReadText(doc,"key",m.key,m);
      if(type=="place_order")
        {
         MtbReadText(doc,"symbol",m.symbol,m);
         doc.GetStr(doc.MapFind(0,"order_type"),m.order_type);
         doc.GetNumber(doc.MapFind(0,"volume"),m.volume);
        }
      else
         doc.GetUInt(doc.MapFind(0,"ticket"),m.ticket);
      if(type!="cancel_order")
        {
         doc.GetNumber(doc.MapFind(0,"price"),m.price);
         doc.GetNumber(doc.MapFind(0,"sl"),m.sl);
         doc.GetNumber(doc.MapFind(0,"tp"),m.tp);
         doc.GetUInt(doc.MapFind(0,"expiration"),m.expiration);
         m.stoplimit=0.0;
         if(doc.MapFind(0,"stoplimit")>=0)   // optional: absent = 0 (not a stop-limit)
            doc.GetNumber(doc.MapFind(0,"stoplimit"),m.stoplimit);
        }
      if(type=="place_order")
        {
         MtbReadMagic(doc,m);
         MtbReadText(doc,"comment",m.comment,m);
        }
     }
   else if(type=="error")
     {
      MtbReadText(doc,"code",m.code,m);
      MtbReadText(doc,"detail",m.detail,m);
      doc.GetUInt(doc.MapFind(0,"ref_id"),m.ref_id);
      MtbReadText(doc,"field",m.field,m);
     }
   return(true);
  }

//--- the sequence error codes that require a reconnect (section 2, step 4)
bool MtbIsSequenceCode(const string code)
  {
   return(code=="not_started" || code=="bad_start_seq" || code=="sequence_replay" || code=="sequence_gap");
  }

#endif // MTBRIDGE_PROTOCOL_MQH
