//+------------------------------------------------------------------+
//| MtBridge/MsgPackEncode.mqh - msgpack encoder:                    |
//| MpWriter writes the CANONICAL form of docs/protocol.md s.10;     |
//| the bit-exact double/float helpers (unions, never arithmetic),   |
//| UTF-8 bytes of a string, hex helpers (self-test, logs).          |
//| One source for MQL4 and MQL5 (`make mql` installs it in both).   |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_MSGPACKENCODE_MQH
#define MTBRIDGE_MSGPACKENCODE_MQH

#ifdef __MQL4__
#property strict
#endif

//--- bit-exact reinterpretation through unions: write one member, read the other.
//--- (Copying a simple structure into one of another type is a compile error in MQL5.)
union MpBits64 { double d; long l; };
union MpBits32 { float f; int i; };

ulong MpDoubleToBits(const double d)
  {
   MpBits64 b;
   b.d=d;
   return((ulong)b.l);
  }

double MpDoubleFromBits(const ulong bits)
  {
   MpBits64 b;
   b.l=(long)bits;
   return(b.d);
  }

double MpFloat32FromBits(const uint bits)
  {
   MpBits32 b;
   b.i=(int)bits;
   return((double)b.f);
  }

//--- UTF-8 bytes of a string, without the terminating NUL
int MpUtf8Bytes(const string s,uchar &out[])
  {
   ArrayResize(out,0);
   if(StringLen(s)==0)
      return(0);
   int n=StringToCharArray(s,out,0,WHOLE_ARRAY,CP_UTF8);
   if(n>ArraySize(out))
      n=ArraySize(out);
   if(n>0 && out[n-1]==0)
      n--;
   ArrayResize(out,n);
   return(n);
  }

//+------------------------------------------------------------------+
//| MpWriter: appends canonical msgpack to a growing byte buffer     |
//+------------------------------------------------------------------+
class MpWriter
  {
private:
   uchar             m_buf[];
   int               m_len;
   string            m_error;
   void              Put(const uint b)
     {
      if(m_len>=ArraySize(m_buf))
         ArrayResize(m_buf,m_len+1,256);
      m_buf[m_len]=(uchar)(b&0xff);
      m_len++;
     }
   void              PutBE(const ulong v,const int nbytes)
     {
      for(int k=nbytes-1; k>=0; k--)
         Put((uint)((v>>(8*k))&0xff));
     }
public:
                     MpWriter(void) { m_len=0; m_error=""; }
   void              Reset(void) { m_len=0; m_error=""; ArrayResize(m_buf,0,256); }
   int               Length(void) const { return(m_len); }
   bool              Ok(void) const { return(m_error==""); }
   string            Error(void) const { return(m_error); }
   void              Fail(const string why) { if(m_error=="") m_error=why; }
   //--- copy the encoded bytes to an array of exactly Length() elements
   int               CopyTo(uchar &out[]) const
     {
      ArrayResize(out,m_len);
      for(int k=0; k<m_len; k++)
         out[k]=m_buf[k];
      return(m_len);
     }
   void              Nil(void) { Put(0xc0); }
   void              Bool(const bool v) { Put(v ? 0xc3 : 0xc2); }
   //--- integer >= 0: positive fixint / uint8 / uint16 / uint32 / uint64
   void              UInt(const ulong v)
     {
      if(v<=0x7f)
         Put((uint)v);
      else if(v<=0xff)
        { Put(0xcc); PutBE(v,1); }
      else if(v<=0xffff)
        { Put(0xcd); PutBE(v,2); }
      else if(v<=(ulong)UINT_MAX)
        { Put(0xce); PutBE(v,4); }
      else
        { Put(0xcf); PutBE(v,8); }
     }
   //--- any integer: >= 0 as UInt, < 0 as negative fixint / int8 / int16 / int32 / int64
   void              Int(const long v)
     {
      if(v>=0)
         UInt((ulong)v);
      else if(v>=-32)
         Put((uint)(v&0xff));
      else if(v>=-128)
        { Put(0xd0); PutBE((ulong)v,1); }
      else if(v>=-32768)
        { Put(0xd1); PutBE((ulong)v,2); }
      else if(v>=(long)INT_MIN)
        { Put(0xd2); PutBE((ulong)v,4); }
      else
        { Put(0xd3); PutBE((ulong)v,8); }
     }
   //--- always float64; -0.0 is written as +0.0; NaN and infinities are refused
   void              Double(const double v)
     {
      if(!MathIsValidNumber(v))
        {
         Fail("non-finite number");
         return;
        }
      ulong bits=(v==0.0) ? 0 : MpDoubleToBits(v);
      Put(0xcb);
      PutBE(bits,8);
     }
   //--- UTF-8 str: fixstr / str8 / str16 / str32, never bin
   void              Str(const string s)
     {
      uchar tmp[];
      int n=MpUtf8Bytes(s,tmp);
      StrBytes(tmp,n);
     }
   void              StrBytes(const uchar &bytes[],const int n)
     {
      if(n<=31)
         Put(0xa0|(uint)n);
      else if(n<=255)
        { Put(0xd9); PutBE((ulong)n,1); }
      else if(n<=65535)
        { Put(0xda); PutBE((ulong)n,2); }
      else
        { Put(0xdb); PutBE((ulong)n,4); }
      for(int k=0; k<n; k++)
         Put(bytes[k]);
     }
   //--- container headers: fix / 16 / 32
   void              ArrayHeader(const int n)
     {
      if(n<=15)
         Put(0x90|(uint)n);
      else if(n<=65535)
        { Put(0xdc); PutBE((ulong)n,2); }
      else
        { Put(0xdd); PutBE((ulong)n,4); }
     }
   void              MapHeader(const int n)
     {
      if(n<=15)
         Put(0x80|(uint)n);
      else if(n<=65535)
        { Put(0xde); PutBE((ulong)n,2); }
      else
        { Put(0xdf); PutBE((ulong)n,4); }
     }
  };

//--- hex helpers (self-test, logs)
string MpToHex(const uchar &b[],const int n)
  {
   string digits="0123456789abcdef";
   string out="";
   for(int k=0; k<n && k<ArraySize(b); k++)
     {
      out+=StringSubstr(digits,(b[k]>>4)&0x0f,1);
      out+=StringSubstr(digits,b[k]&0x0f,1);
     }
   return(out);
  }

int MpHexNibble(const ushort ch)
  {
   if(ch>='0' && ch<='9')
      return(ch-'0');
   if(ch>='a' && ch<='f')
      return(ch-'a'+10);
   if(ch>='A' && ch<='F')
      return(ch-'A'+10);
   return(-1);
  }

//--- returns the byte count, or -1 on a malformed hex string
int MpFromHex(const string hex,uchar &out[])
  {
   int len=StringLen(hex);
   ArrayResize(out,0);
   if(len%2!=0)
      return(-1);
   ArrayResize(out,len/2);
   for(int k=0; k<len/2; k++)
     {
      int hi=MpHexNibble(StringGetCharacter(hex,2*k));
      int lo=MpHexNibble(StringGetCharacter(hex,2*k+1));
      if(hi<0 || lo<0)
        {
         ArrayResize(out,0);
         return(-1);
        }
      out[k]=(uchar)(hi*16+lo);
     }
   return(len/2);
  }

#endif // MTBRIDGE_MSGPACKENCODE_MQH
