//+------------------------------------------------------------------+
//| MtBridge/MsgPackDecode.mqh - msgpack decoder:                    |
//| MpDoc, a value tree with the limits of docs/protocol.md s.9,     |
//| strict UTF-8; MpEncodeNode re-encodes a subtree canonically.     |
//| One source for MQL4 and MQL5 (`make mql` installs it in both).   |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_MSGPACKDECODE_MQH
#define MTBRIDGE_MSGPACKDECODE_MQH

#ifdef __MQL4__
#property strict
#endif

#include "MsgPackEncode.mqh"

//--- decoder limits (docs/protocol.md section 9)
#define MP_MAX_STR_BYTES   4096
#define MP_MAX_ARRAY_LEN   4096
#define MP_MAX_MAP_LEN     64
#define MP_MAX_DEPTH       16
#define MP_MAX_NODES       65536

//--- node types of the decoded tree
#define MP_T_NIL    0
#define MP_T_BOOL   1
#define MP_T_UINT   2   // integer >= 0, value in MpNode.u
#define MP_T_NINT   3   // integer <  0, value in MpNode.i
#define MP_T_FLOAT  4   // float32 or float64, value in MpNode.d
#define MP_T_STR    5
#define MP_T_ARRAY  6
#define MP_T_MAP    7   // children alternate key, value

//+------------------------------------------------------------------+
//| MpDoc: decoded value tree. Nodes are stored in pre-order; a      |
//| node's subtree is [index, end). Children of a container follow   |
//| it; the next sibling of child c is nodes[c].end.                 |
//+------------------------------------------------------------------+
struct MpNode
  {
   int               type;
   bool              b;
   ulong             u;
   long              i;
   double            d;
   string            s;       // str value as MQL holds it: ends at a NUL byte
   int               spos;    // str: its UTF-8 bytes in the frame (exact, NUL included)
   int               slen;
   int               count;   // elements (array) or pairs (map)
   int               end;     // one past the last node of the subtree
  };

class MpDoc
  {
private:
   MpNode            m_nodes[];
   uchar             m_bytes[];   // copy of the parsed frame: str nodes point into it
   int               m_count;
   int               m_len;
   string            m_error;
   bool              Fail(const string why,const int pos)
     {
      if(m_error=="")
         m_error=StringFormat("%s at byte %d",why,pos);
      return(false);
     }
   int               NewNode(void)
     {
      if(m_count>=MP_MAX_NODES)
         return(-1);
      if(ArrayResize(m_nodes,m_count+1,256)<m_count+1)
         return(-1);
      int n=m_count;
      m_nodes[n].type=MP_T_NIL;
      m_nodes[n].b=false;
      m_nodes[n].u=0;
      m_nodes[n].i=0;
      m_nodes[n].d=0.0;
      m_nodes[n].s="";
      m_nodes[n].spos=0;
      m_nodes[n].slen=0;
      m_nodes[n].count=0;
      m_nodes[n].end=n+1;
      m_count++;
      return(n);
     }
   bool              ReadBE(const uchar &b[],int &pos,const int nbytes,ulong &v)
     {
      if(nbytes<0 || pos+nbytes>m_len)
         return(Fail("truncated",pos));
      v=0;
      for(int k=0; k<nbytes; k++)
         v=(v<<8)|(ulong)b[pos+k];
      pos+=nbytes;
      return(true);
     }
   bool              ValidUtf8(const uchar &b[],const int start,const int n);
   bool              ParseStr(const uchar &b[],int &pos,const int n,const int node);
   bool              ParseChildren(const uchar &b[],int &pos,const int n,const int node,const int depth);
   bool              ParseValue(const uchar &b[],int &pos,const int depth);
public:
                     MpDoc(void) { m_count=0; m_len=0; m_error=""; }
   bool              Parse(const uchar &b[],const int len);
   string            Error(void) const { return(m_error); }
   int               Count(void) const { return(m_count); }
   int               Type(const int n) const { return((n>=0 && n<m_count) ? m_nodes[n].type : -1); }
   int               Len(const int n) const { return((n>=0 && n<m_count) ? m_nodes[n].count : 0); }
   int               End(const int n) const { return((n>=0 && n<m_count) ? m_nodes[n].end : n+1); }
   bool              BoolOf(const int n) const { return(m_nodes[n].b); }
   ulong             UIntOf(const int n) const { return(m_nodes[n].u); }
   long              NIntOf(const int n) const { return(m_nodes[n].i); }
   double            FloatOf(const int n) const { return(m_nodes[n].d); }
   string            StrOf(const int n) const { return(m_nodes[n].s); }
   int               StrBytesOf(const int n,uchar &out[]) const;
   bool              StrHasNul(const int n) const;
   int               Child(const int n,const int k) const;
   int               MapFind(const int n,const string key) const;
   bool              GetUInt(const int n,ulong &v) const;
   bool              GetInt(const int n,long &v) const;
   bool              GetNumber(const int n,double &v) const;
   bool              GetBool(const int n,bool &v) const;
   bool              GetStr(const int n,string &v) const;
  };

//--- strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF
bool MpDoc::ValidUtf8(const uchar &b[],const int start,const int n)
  {
   int k=start;
   int stop=start+n;
   while(k<stop)
     {
      uint c=b[k];
      int more=0;
      uint cp=0;
      uint lowest=0;
      if(c<0x80)
        { k++; continue; }
      else if(c>=0xc2 && c<=0xdf)
        { more=1; cp=c&0x1f; lowest=0x80; }
      else if(c>=0xe0 && c<=0xef)
        { more=2; cp=c&0x0f; lowest=0x800; }
      else if(c>=0xf0 && c<=0xf4)
        { more=3; cp=c&0x07; lowest=0x10000; }
      else
         return(false);
      if(k+more>=stop)
         return(false);   // truncated sequence
      for(int j=1; j<=more; j++)
        {
         uint cc=b[k+j];
         if((cc&0xc0)!=0x80)
            return(false);
         cp=(cp<<6)|(cc&0x3f);
        }
      if(cp<lowest || cp>0x10ffff || (cp>=0xd800 && cp<=0xdfff))
         return(false);
      k+=more+1;
     }
   return(true);
  }

bool MpDoc::ParseStr(const uchar &b[],int &pos,const int n,const int node)
  {
   if(n<0 || n>MP_MAX_STR_BYTES)
      return(Fail("str longer than the limit",pos));
   if(pos+n>m_len)
      return(Fail("truncated str",pos));
   if(!ValidUtf8(b,pos,n))
      return(Fail("invalid UTF-8 in str",pos));
   //--- a NUL byte is valid msgpack/UTF-8: kept exactly in the bytes, the MQL string ends there
   m_nodes[node].type=MP_T_STR;
   m_nodes[node].s=(n==0) ? "" : CharArrayToString(b,pos,n,CP_UTF8);
   m_nodes[node].spos=pos;
   m_nodes[node].slen=n;
   pos+=n;
   return(true);
  }

bool MpDoc::ParseChildren(const uchar &b[],int &pos,const int n,const int node,const int depth)
  {
   for(int k=0; k<n; k++)
      if(!ParseValue(b,pos,depth+1))
         return(false);
   m_nodes[node].end=m_count;
   return(true);
  }

bool MpDoc::ParseValue(const uchar &b[],int &pos,const int depth)
  {
   if(depth>MP_MAX_DEPTH)
      return(Fail("nesting too deep",pos));
   if(pos>=m_len)
      return(Fail("truncated",pos));
   int node=NewNode();
   if(node<0)
      return(Fail("too many values",pos));
   uint c=b[pos];
   pos++;
   ulong v=0;
   int n=0;
   if(c<=0x7f)
     { m_nodes[node].type=MP_T_UINT; m_nodes[node].u=c; return(true); }
   if(c>=0xe0)
     { m_nodes[node].type=MP_T_NINT; m_nodes[node].i=(long)c-256; return(true); }
   if((c&0xe0)==0xa0)
      return(ParseStr(b,pos,(int)(c&0x1f),node));
   if((c&0xf0)==0x90 || c==0xdc || c==0xdd)
     {
      if(c==0xdc)
        { if(!ReadBE(b,pos,2,v)) return(false); n=(int)v; }
      else if(c==0xdd)
        { if(!ReadBE(b,pos,4,v)) return(false); if(v>MP_MAX_ARRAY_LEN) return(Fail("array longer than the limit",pos)); n=(int)v; }
      else
         n=(int)(c&0x0f);
      if(n>MP_MAX_ARRAY_LEN)
         return(Fail("array longer than the limit",pos));
      if(n>m_len-pos)
         return(Fail("truncated array",pos));
      m_nodes[node].type=MP_T_ARRAY;
      m_nodes[node].count=n;
      return(ParseChildren(b,pos,n,node,depth));
     }
   if((c&0xf0)==0x80 || c==0xde || c==0xdf)
     {
      if(c==0xde)
        { if(!ReadBE(b,pos,2,v)) return(false); if(v>MP_MAX_MAP_LEN) return(Fail("map larger than the limit",pos)); n=(int)v; }
      else if(c==0xdf)
        { if(!ReadBE(b,pos,4,v)) return(false); if(v>MP_MAX_MAP_LEN) return(Fail("map larger than the limit",pos)); n=(int)v; }
      else
         n=(int)(c&0x0f);
      if(n>MP_MAX_MAP_LEN)
         return(Fail("map larger than the limit",pos));
      if(2*n>m_len-pos)
         return(Fail("truncated map",pos));
      m_nodes[node].type=MP_T_MAP;
      m_nodes[node].count=n;
      return(ParseChildren(b,pos,2*n,node,depth));
     }
   switch(c)
     {
      case 0xc0:
         m_nodes[node].type=MP_T_NIL;
         return(true);
      case 0xc2:
      case 0xc3:
         m_nodes[node].type=MP_T_BOOL;
         m_nodes[node].b=(c==0xc3);
         return(true);
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
         if(!ReadBE(b,pos,1<<(int)(c-0xcc),v))
            return(false);
         m_nodes[node].type=MP_T_UINT;
         m_nodes[node].u=v;
         return(true);
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        {
         int nb=1<<(int)(c-0xd0);
         if(!ReadBE(b,pos,nb,v))
            return(false);
         if(nb<8 && ((v>>(8*nb-1))&1)==1)
            v|=~((((ulong)1)<<(8*nb))-1);   // sign-extend
         long sv=(long)v;
         if(sv>=0)
           { m_nodes[node].type=MP_T_UINT; m_nodes[node].u=(ulong)sv; }
         else
           { m_nodes[node].type=MP_T_NINT; m_nodes[node].i=sv; }
         return(true);
        }
      case 0xca:
         if(!ReadBE(b,pos,4,v))
            return(false);
         m_nodes[node].type=MP_T_FLOAT;
         m_nodes[node].d=MpFloat32FromBits((uint)v);
         return(true);
      case 0xcb:
         if(!ReadBE(b,pos,8,v))
            return(false);
         m_nodes[node].type=MP_T_FLOAT;
         m_nodes[node].d=MpDoubleFromBits(v);
         return(true);
      case 0xd9:
      case 0xda:
      case 0xdb:
         if(!ReadBE(b,pos,1<<(int)(c-0xd9),v))
            return(false);
         if(v>MP_MAX_STR_BYTES)
            return(Fail("str longer than the limit",pos));
         return(ParseStr(b,pos,(int)v,node));
     }
   if(c==0xc1)
      return(Fail("reserved byte 0xc1",pos-1));
   return(Fail(StringFormat("bin/ext type 0x%02x is not used by the protocol",c),pos-1));
  }

bool MpDoc::Parse(const uchar &b[],const int len)
  {
   m_count=0;
   m_error="";
   ArrayResize(m_nodes,0,256);
   if(len<=0)
      return(Fail("empty frame",0));
   if(len>ArraySize(b))
      return(Fail("length beyond the buffer",0));
   m_len=len;
   ArrayResize(m_bytes,len);
   ArrayCopy(m_bytes,b,0,0,len);
   int pos=0;
   if(!ParseValue(b,pos,0))
      return(false);
   if(pos!=m_len)
      return(Fail("trailing bytes",pos));
   return(true);
  }

int MpDoc::Child(const int n,const int k) const
  {
   if(n<0 || n>=m_count)
      return(-1);
   int t=m_nodes[n].type;
   if(t!=MP_T_ARRAY && t!=MP_T_MAP)
      return(-1);
   int total=(t==MP_T_MAP) ? 2*m_nodes[n].count : m_nodes[n].count;
   if(k<0 || k>=total)
      return(-1);
   int c=n+1;
   for(int j=0; j<k; j++)
      c=m_nodes[c].end;
   return(c);
  }

//--- value node of `key` in map n, or -1
int MpDoc::MapFind(const int n,const string key) const
  {
   if(Type(n)!=MP_T_MAP)
      return(-1);
   int c=n+1;
   for(int j=0; j<m_nodes[n].count; j++)
     {
      int val=m_nodes[c].end;
      if(m_nodes[c].type==MP_T_STR && m_nodes[c].s==key && !StrHasNul(c))
         return(val);
      c=m_nodes[val].end;
     }
   return(-1);
  }

//--- the exact UTF-8 bytes of str node n (NUL bytes included); returns the count, -1 if not a str
int MpDoc::StrBytesOf(const int n,uchar &out[]) const
  {
   if(Type(n)!=MP_T_STR)
      return(-1);
   int len=m_nodes[n].slen;
   ArrayResize(out,len);
   if(len>0)
      ArrayCopy(out,m_bytes,0,m_nodes[n].spos,len);
   return(len);
  }

//--- true when str node n holds a NUL byte, which an MQL string cannot carry
bool MpDoc::StrHasNul(const int n) const
  {
   if(Type(n)!=MP_T_STR)
      return(false);
   for(int k=m_nodes[n].spos; k<m_nodes[n].spos+m_nodes[n].slen; k++)
      if(m_bytes[k]==0)
         return(true);
   return(false);
  }

bool MpDoc::GetUInt(const int n,ulong &v) const
  {
   if(Type(n)!=MP_T_UINT)
      return(false);
   v=m_nodes[n].u;
   return(true);
  }

bool MpDoc::GetInt(const int n,long &v) const
  {
   if(Type(n)==MP_T_NINT)
     { v=m_nodes[n].i; return(true); }
   if(Type(n)==MP_T_UINT && m_nodes[n].u<=(ulong)LONG_MAX)
     { v=(long)m_nodes[n].u; return(true); }
   return(false);
  }

//--- number fields: float64 (or float32), or an integer within +-2^53
bool MpDoc::GetNumber(const int n,double &v) const
  {
   int t=Type(n);
   if(t==MP_T_FLOAT)
     {
      if(!MathIsValidNumber(m_nodes[n].d))
         return(false);
      v=m_nodes[n].d;
      return(true);
     }
   if(t==MP_T_UINT && m_nodes[n].u<=(((ulong)1)<<53))
     { v=(double)m_nodes[n].u; return(true); }
   if(t==MP_T_NINT && m_nodes[n].i>=-(((long)1)<<53))
     { v=(double)m_nodes[n].i; return(true); }
   return(false);
  }

bool MpDoc::GetBool(const int n,bool &v) const
  {
   if(Type(n)!=MP_T_BOOL)
      return(false);
   v=m_nodes[n].b;
   return(true);
  }

bool MpDoc::GetStr(const int n,string &v) const
  {
   if(Type(n)!=MP_T_STR)
      return(false);
   v=m_nodes[n].s;
   return(true);
  }

//--- canonical re-encoding of the subtree at node n (floats become float64)
bool MpEncodeNode(const MpDoc &doc,const int n,MpWriter &w)
  {
   int t=doc.Type(n);
   if(t==MP_T_NIL)
      w.Nil();
   else if(t==MP_T_BOOL)
      w.Bool(doc.BoolOf(n));
   else if(t==MP_T_UINT)
      w.UInt(doc.UIntOf(n));
   else if(t==MP_T_NINT)
      w.Int(doc.NIntOf(n));
   else if(t==MP_T_FLOAT)
      w.Double(doc.FloatOf(n));
   else if(t==MP_T_STR)
     {
      uchar bytes[];
      int len=doc.StrBytesOf(n,bytes);
      w.StrBytes(bytes,len);
     }
   else if(t==MP_T_ARRAY || t==MP_T_MAP)
     {
      int len=doc.Len(n);
      if(t==MP_T_ARRAY)
         w.ArrayHeader(len);
      else
         w.MapHeader(len);
      int c=n+1;
      int total=(t==MP_T_MAP) ? 2*len : len;
      for(int k=0; k<total; k++)
        {
         if(!MpEncodeNode(doc,c,w))
            return(false);
         c=doc.End(c);
        }
     }
   else
     {
      w.Fail(StringFormat("no node %d",n));
      return(false);
     }
   return(w.Ok());
  }

#endif // MTBRIDGE_MSGPACKDECODE_MQH
