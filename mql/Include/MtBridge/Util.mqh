//+------------------------------------------------------------------+
//| MtBridge/Util.mqh - clock, number normalisation                  |
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
//--- TimeTradeServer and TimeGMT are read a few ms apart and GMT follows the PC clock: rounding
//--- absorbs both. hello.utc_offset_ms carries it.
long MtbUtcOffsetMs(void)
  {
   long secs=(long)(TimeTradeServer()-TimeGMT());
   return((long)MathRound((double)secs/900.0)*900*1000);
  }

//--- a trade-server time (ms) as UTC ms: every time on the wire is UTC. Uses today's offset,
//--- so a time from before a DST change of the server is off by that hour (docs/mql.md).
ulong MtbUtcMs(const ulong server_ms)
  {
   return((ulong)((long)server_ms-MtbUtcOffsetMs()));
  }

//--- the trade server's last known time (quotes), as UTC ms
ulong MtbTradeUtcMs(void)
  {
   return(MtbUtcMs((ulong)TimeCurrent()*1000));
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

//--- money normalised to the deposit currency's digits
double MtbNormMoney(const double value)
  {
#ifdef __MQL5__
   int digits=(int)AccountInfoInteger(ACCOUNT_CURRENCY_DIGITS);
#else
   int digits=2;
#endif
   return(NormalizeDouble(value,digits));
  }

//--- role of the login: trade allowed = trader password, otherwise investor (read only)
string MtbLoginRole(void)
  {
   return(AccountInfoInteger(ACCOUNT_TRADE_ALLOWED)!=0 ? "trader" : "investor");
  }

#endif // MTBRIDGE_UTIL_MQH
