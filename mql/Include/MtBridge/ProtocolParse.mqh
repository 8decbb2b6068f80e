//+------------------------------------------------------------------+
//| MtBridge/ProtocolParse.mqh - wire protocol v1:                   |
//| validation of daemon -> terminal messages (docs/protocol.md      |
//| section 8 order), parsing into MtbInbound, sequence codes.       |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_PROTOCOLPARSE_MQH
#define MTBRIDGE_PROTOCOLPARSE_MQH

#ifdef __MQL4__
#property strict
#endif

#include "ProtocolSchema.mqh"

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

#endif // MTBRIDGE_PROTOCOLPARSE_MQH
