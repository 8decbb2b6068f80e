//+------------------------------------------------------------------+
//| MtBridge/ProtocolSchema.mqh - wire protocol v1:                  |
//| limits, the message table MTB_SCHEMA (the one of                 |
//| bridge/protocol/schema.py), enums, ranges, the message structs,  |
//| schema look-ups and the envelope / position writers.             |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_PROTOCOLSCHEMA_MQH
#define MTBRIDGE_PROTOCOLSCHEMA_MQH

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

#endif // MTBRIDGE_PROTOCOLSCHEMA_MQH
