//+------------------------------------------------------------------+
//| MtBridge/Util.mqh - the clocks (PC UTC, trade server, offset),   |
//| number normalisation, account checks, MT4 comment/side helpers.  |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_UTIL_MQH
#define MTBRIDGE_UTIL_MQH

#ifdef __MQL4__
#property strict
#endif

#include "MsgPack.mqh"

#define MTB_COMMENT_MAX  31

//--- wall clock in ms since the Unix epoch (UTC): TimeGMT() seconds + GetTickCount() fraction
ulong MtbNowMs(void)
  {
   static datetime s_sec=0;
   static uint     s_tick=0;
   datetime now=TimeGMT();
   uint tick=GetTickCount();
   if(now!=s_sec)
     {
      s_sec=now;
      s_tick=tick;
     }
   uint frac=tick-s_tick;        // uint arithmetic survives the 49-day wrap
   if(frac>999)
      frac=999;
   return((ulong)now*1000+frac);
  }

//--- the trade server's offset from UTC, ms, rounded to 15 min (server time = UTC + offset).
//--- Server time and GMT are read a few ms apart and GMT follows the PC clock: rounding absorbs
//--- both. hello.utc_offset_ms carries it; outside +-14 h it is not an offset (no quote yet).
#define MTB_OFFSET_GLOBAL  "MtBridge.utc_offset_ms."
#define MTB_OFFSET_MAX_MS  50400000

long MtbRoundOffsetMs(const long secs)
  {
   return((long)MathRound((double)secs/900.0)*900*1000);
  }

#ifdef __MQL5__
long MtbUtcOffsetMs(void)
  {
   long off=MtbRoundOffsetMs((long)(TimeTradeServer()-TimeGMT()));
   return((off>MTB_OFFSET_MAX_MS || off<-MTB_OFFSET_MAX_MS) ? 0 : off);
  }
#else
//--- MQL4 has no TimeTradeServer(): TimeCurrent() is the server time of the LAST QUOTE, right
//--- only while quotes flow (on a quiet weekend it is days old). A value is trusted when
//--- TimeCurrent() moved since a reading less than 2 s before (a quote arrived within the last
//--- 2 s; the EAs read it every timer tick); the trusted value is kept in the terminal global
//--- variable MtBridge.utc_offset_ms.<login>, so a start on a quiet weekend uses the last good
//--- one. Without either, the untrusted value is the best guess.
long MtbUtcOffsetMs(void)
  {
   static datetime s_quote=0;
   static uint     s_tick=0;
   static bool     s_have=false;
   static long     s_offset=0;
   static string   s_name="";
   datetime quote=TimeCurrent();
   uint tick=GetTickCount();
   long guess=MtbRoundOffsetMs((long)(quote-TimeGMT()));
   bool plausible=(guess<=MTB_OFFSET_MAX_MS && guess>=-MTB_OFFSET_MAX_MS);
   bool fresh=(s_quote!=0 && quote!=s_quote && (uint)(tick-s_tick)<2000);   // uint: survives the wrap
   if(s_name=="")
      s_name=MTB_OFFSET_GLOBAL+IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN));
   if(fresh && plausible && (!s_have || guess!=s_offset))
     {
      s_offset=guess;
      s_have=true;
      if(GlobalVariableSet(s_name,(double)guess)==0)
         PrintFormat("MtBridge: GlobalVariableSet(%s) failed, error %d",s_name,GetLastError());
     }
   s_quote=quote;
   s_tick=tick;
   if(!s_have && GlobalVariableCheck(s_name))
     {
      s_offset=(long)GlobalVariableGet(s_name);
      s_have=true;
     }
   if(s_have)
      return(s_offset);
   return(plausible ? guess : 0);
  }
#endif

//--- a trade-server time (ms) as UTC ms: every time on the wire is UTC. Uses today's offset,
//--- so a time from before a DST change of the server is off by that hour (docs/mql.md).
ulong MtbUtcMs(const ulong server_ms)
  {
   return((ulong)((long)server_ms-MtbUtcOffsetMs()));
  }

//--- the inverse: a UTC ms time as trade-server datetime (history selections are in server time)
datetime MtbServerTime(const ulong utc_ms)
  {
   return((datetime)(((long)utc_ms+MtbUtcOffsetMs())/1000));
  }

//--- MT4 order times have whole seconds. An open or close the EA sees within that second
//--- happened at or before "now", so the UTC clock bounds it better than the second's start:
//--- the 50 ms pool diff sees an open of 12:00:13.870 as 13.87x, not 13.000 (which would
//--- look up to a second older than it is, e.g. older than a subscription that started at
//--- 13.570). Outside that second the whole second is kept.
ulong MtbSeenTime(const ulong utc_ms)
  {
   ulong now=MtbNowMs();
   if(now>=utc_ms && now<utc_ms+1000)
      return(now);
   return(utc_ms);
  }

//--- the trade server's current time, as UTC ms: the one "now" of both EAs (report times,
//--- command results, the executor's pending time; in server time: MtbServerTime(MtbTradeUtcMs())).
//--- TimeTradeServer() is the PC clock plus the server's offset, so in UTC it is the PC's UTC
//--- clock; TimeCurrent() (the last quote, whole seconds, stale on a quiet symbol) is never
//--- used as "now".
ulong MtbTradeUtcMs(void)
  {
   return(MtbNowMs());
  }

//--- the same "now" as trade-server datetime, for history selections (MT5 HistorySelect):
//--- the EAs read no other server clock
datetime MtbServerNow(void)
  {
   return(MtbServerTime(MtbTradeUtcMs()));
  }

//--- tickets in ascending order (insertion sort: the lists are a handful of new deals/orders)
void MtbSortTickets(ulong &list[])
  {
   int n=ArraySize(list);
   for(int i=1; i<n; i++)
     {
      ulong v=list[i];
      int j=i-1;
      while(j>=0 && list[j]>v)
        {
         list[j+1]=list[j];
         j--;
        }
      list[j+1]=v;
     }
  }

//--- decimals of a step such as 0.01 -> 2, 0.001 -> 3, 1 -> 0
int MtbStepDigits(const double step)
  {
   int digits=0;
   double x=step;
   while(digits<8 && MathAbs(x-MathRound(x))>1e-9)
     {
      x*=10.0;
      digits++;
     }
   return(digits);
  }

//--- volume normalised to the symbol's lot step
double MtbNormVolume(const string symbol,const double volume)
  {
   double step=SymbolInfoDouble(symbol,SYMBOL_VOLUME_STEP);
   if(step<=0.0)
      return(NormalizeDouble(volume,2));
   return(NormalizeDouble(MathRound(volume/step)*step,MtbStepDigits(step)));
  }

//--- price normalised to the symbol's digits
double MtbNormPrice(const string symbol,const double price)
  {
   return(NormalizeDouble(price,(int)SymbolInfoInteger(symbol,SYMBOL_DIGITS)));
  }

//--- decimals of a deposit currency on MT4, which has no ACCOUNT_CURRENCY_DIGITS: ISO 4217
//--- minor units where they are not 2, and 8 for the crypto currencies brokers use as deposit
//--- currency. Anything else: 2. Example: "JPY" -> 0, "KWD" -> 3, "BTC" -> 8, "USD" -> 2.
int MtbCurrencyDigits(const string currency)
  {
   string code="|"+currency+"|";
   if(StringFind("|JPY|KRW|VND|CLP|ISK|PYG|UGX|XAF|XOF|XPF|KMF|GNF|RWF|VUV|DJF|BIF|",code)>=0)
      return(0);
   if(StringFind("|BHD|KWD|OMR|JOD|TND|LYD|IQD|",code)>=0)
      return(3);
   if(StringFind("|BTC|XBT|ETH|LTC|BCH|DSH|DASH|XRP|",code)>=0)
      return(8);
   return(2);
  }

//--- money normalised to the deposit currency's digits
double MtbNormMoney(const double value)
  {
#ifdef __MQL5__
   int digits=(int)AccountInfoInteger(ACCOUNT_CURRENCY_DIGITS);
#else
   static string s_currency="";
   static int    s_digits=2;
   string currency=AccountInfoString(ACCOUNT_CURRENCY);
   if(currency!=s_currency)
     {
      s_currency=currency;
      s_digits=MtbCurrencyDigits(currency);
     }
   int digits=s_digits;
#endif
   return(NormalizeDouble(value,digits));
  }

//--- can this login trade. ACCOUNT_TRADE_ALLOWED is false on the read-only investor password
//--- and also when the broker disabled trading for the account (e.g. a balance below the
//--- account type's minimum after a stop-out); MQL cannot tell the two apart, so every message
//--- names both (MTB_TRADE_DISABLED_WHY) and MtbLogTradeFlags logs the flags.
#define MTB_TRADE_DISABLED_WHY "trading is disabled for this account (ACCOUNT_TRADE_ALLOWED is false: logged in with the read-only investor password, or the broker disabled trading for the account, e.g. a balance below the account type's minimum)"

bool MtbAccountMayTrade(void)
  {
   return(AccountInfoInteger(ACCOUNT_TRADE_ALLOWED)!=0);
  }

//--- the account's and the terminal's trade permissions, in one log line
void MtbLogTradeFlags(const string tag)
  {
   PrintFormat("%s: login %I64d: account trade allowed %s (false on the investor password or when the broker disabled trading), "
               "expert trade allowed %s, terminal Algo Trading %s, this program may trade %s",
               tag,AccountInfoInteger(ACCOUNT_LOGIN),
               AccountInfoInteger(ACCOUNT_TRADE_ALLOWED)!=0 ? "yes" : "no",
               AccountInfoInteger(ACCOUNT_TRADE_EXPERT)!=0 ? "yes" : "no",
               TerminalInfoInteger(TERMINAL_TRADE_ALLOWED)!=0 ? "yes" : "no",
               MQLInfoInteger(MQL_TRADE_ALLOWED)!=0 ? "yes" : "no");
  }

#ifdef __MQL5__
//--- MT5 positions are reported by POSITION_IDENTIFIER (the id every deal of the position
//--- carries as DEAL_POSITION_ID); POSITION_TICKET can change (swap rollover by re-opening).
//--- Selects the open position with that identifier; false if none is open.
bool MtbSelectPositionById(const ulong id)
  {
   if(PositionSelectByTicket(id) && (ulong)PositionGetInteger(POSITION_IDENTIFIER)==id)
      return(true);
   int total=PositionsTotal();
   for(int i=0; i<total; i++)
     {
      ulong ticket=PositionGetTicket(i);
      if(ticket!=0 && (ulong)PositionGetInteger(POSITION_IDENTIFIER)==id)
         return(true);
     }
   return(false);
  }

//--- the current POSITION_TICKET of the position with that identifier, 0 if none is open
ulong MtbPositionTicketById(const ulong id)
  {
   if(!MtbSelectPositionById(id))
      return(0);
   return((ulong)PositionGetInteger(POSITION_TICKET));
  }
#endif

#ifdef __MQL4__
//--- MT4 order comments the trade server writes (one reader for the reporter and the executor).
//--- A partial close of #1000 leaves the closed #1000 with "to #1005" and opens the remainder
//--- #1005 with "from #1000"; a server close appends "[sl]" / "[tp]" to the comment, a stop-out
//--- replaces it with "so: 18.3%/520.00/2841.20" (margin level/equity/margin).
ulong MtbMt4Remainder(const string comment)      // "to #N" -> N, else 0
  {
   int at=StringFind(comment,"to #");
   if(at<0)
      return(0);
   long n=StringToInteger(StringSubstr(comment,at+4));
   return(n>0 ? (ulong)n : 0);
  }

ulong MtbMt4Parent(const string comment)         // "from #N" at the start -> N, else 0
  {
   if(StringFind(comment,"from #")!=0)
      return(0);
   long n=StringToInteger(StringSubstr(comment,6));
   return(n>0 ? (ulong)n : 0);
  }

//--- the wire's close reason: "sl", "tp", "so" (the server closed it) or "client"
string MtbMt4CloseReason(const string comment)
  {
   if(StringFind(comment,"[sl]")>=0)
      return("sl");
   if(StringFind(comment,"[tp]")>=0)
      return("tp");
   if(StringFind(comment,"so:")==0)
      return("so");
   return("client");
  }

string MtbMt4Side(const int type)                 // OP_BUY -> "buy", OP_SELL -> "sell"
  {
   return(type==OP_BUY ? "buy" : "sell");
  }
#endif

#ifdef __MQL5__
string MtbDealSide(const ulong deal)              // the wire's side of a selected history deal
  {
   return(HistoryDealGetInteger(deal,DEAL_TYPE)==DEAL_TYPE_BUY ? "buy" : "sell");
  }

string MtbPositionSide(void)                      // the wire's side of the selected position
  {
   return(PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY ? "buy" : "sell");
  }
#endif

//--- hello.margin_mode: "netting" for an MT5 netting or exchange account (one position per
//--- symbol), else "hedging" (MT4 always hedges)
string MtbMarginMode(void)
  {
#ifdef __MQL5__
   if(AccountInfoInteger(ACCOUNT_MARGIN_MODE)!=ACCOUNT_MARGIN_MODE_RETAIL_HEDGING)
      return("netting");
#endif
   return("hedging");
  }

//--- the EAs run on hedging accounts only (MT4 always hedges). Every copy is its own position,
//--- reported, closed and modified by its ticket; an MT5 netting or exchange account merges
//--- every trade of a symbol into one position, so copies would share a ticket: both EAs refuse
//--- to start there (docs/mql.md).
bool MtbHedgingAccount(const string tag)
  {
#ifdef __MQL5__
   long mode=AccountInfoInteger(ACCOUNT_MARGIN_MODE);
   if(mode!=ACCOUNT_MARGIN_MODE_RETAIL_HEDGING)
     {
      PrintFormat("%s: account %I64d is not a hedging account (ACCOUNT_MARGIN_MODE %I64d: %s): mtbridge keeps each copy "
                  "as its own position and reports, closes and modifies it by ticket, which a netting account cannot do "
                  "(it merges every trade of a symbol into one position). Use a hedging account. Not starting.",
                  tag,AccountInfoInteger(ACCOUNT_LOGIN),mode,mode==ACCOUNT_MARGIN_MODE_RETAIL_NETTING ? "netting" : "exchange");
      return(false);
     }
#endif
   return(true);
  }

#endif // MTBRIDGE_UTIL_MQH
