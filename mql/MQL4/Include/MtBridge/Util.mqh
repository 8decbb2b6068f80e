//+------------------------------------------------------------------+
//| MtBridge/Util.mqh - key tags, clock, number normalisation        |
//| Byte-identical in MQL4/Include and MQL5/Include (tests/mql).     |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_UTIL_MQH
#define MTBRIDGE_UTIL_MQH

#ifdef __MQL4__
#property strict
#endif

#include "MsgPack.mqh"

#define MTB_FNV_OFFSET   0xcbf29ce484222325
#define MTB_FNV_PRIME    0x100000001b3
#define MTB_TAG_PREFIX   "mtb:"
#define MTB_COMMENT_MAX  31

//--- FNV-1a 64 over the UTF-8 bytes of s (docs/mql.md, "Key tags")
ulong MtbFnv1a64(const string s)
  {
   uchar bytes[];
   int n=MpUtf8Bytes(s,bytes);
   ulong h=MTB_FNV_OFFSET;
   for(int k=0; k<n; k++)
     {
      h^=(ulong)bytes[k];
      h*=MTB_FNV_PRIME;          // ulong arithmetic wraps modulo 2^64
     }
   return(h);
  }

string MtbHex64(const ulong v)
  {
   string digits="0123456789abcdef";
   string out="";
   for(int k=15; k>=0; k--)
      out+=StringSubstr(digits,(int)((v>>(4*k))&0x0f),1);
   return(out);
  }

//--- recommended comment tag of a key: "mtb:" + 16 lowercase hex digits (20 chars)
string MtbKeyTag(const string key)
  {
   return(MTB_TAG_PREFIX+MtbHex64(MtbFnv1a64(key)));
  }

//--- recommended magic of a key: the top 31 bits of the hash (0 .. 2^31-1, fits MT4 int)
long MtbKeyMagic(const string key)
  {
   return((long)(MtbFnv1a64(key)>>33));
  }

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

//--- trade server time in ms (positions, deals and modifications use the server clock)
ulong MtbServerMs(void)
  {
   return((ulong)TimeCurrent()*1000);
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
