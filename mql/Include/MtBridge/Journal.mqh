//+------------------------------------------------------------------+
//| MtBridge/Journal.mqh - idempotency-key journal of the investor EA|
//| A file MQL<n>/Files/MtBridge/journal_<login>.bin of records:     |
//| 4-byte big-endian length + one msgpack map. A key is written     |
//| "pending" before its trade request and "done" with its result;   |
//| the last record of a key wins. Survives terminal restarts.       |
//| Compaction writes a .tmp file and moves it over the journal, so a|
//| crash leaves either the old or the new file, never half of one.  |
//| MtbKeyStore: the second store, key -> opened ticket in terminal   |
//| global variables (survives a lost or damaged journal file).      |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_JOURNAL_MQH
#define MTBRIDGE_JOURNAL_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Protocol.mqh"

#define MTB_J_PENDING   0
#define MTB_J_DONE      1
#define MTB_J_KEEP      5000     // records kept when the file is compacted at start
#define MTB_MAX_JOURNAL_RECORD 16384
#define MTB_KEY_GLOBAL  "MtB.k."  // + login + "." + 16 hex digits of FNV-1a-64(key): <= 43 of the 63 allowed

struct MtbJournalEntry
  {
   string            key;
   int               state;
   MtbResult         result;
   ulong             at_ms;      // trade server ms when the entry was written
   string            command;    // open / close / modify
   ulong             ticket;     // close / modify: the position
   long              magic;      // open: magic and comment as sent
   string            comment;
   string            symbol;     // open: symbol and side as sent (magic+symbol+time fallback)
   string            side;
   double            volume;     // open / close: volume as sent (close recovery matches it)
  };

class MtbJournal
  {
private:
   MtbJournalEntry   m_items[];
   int               m_count;
   string            m_file;
   bool              m_intact;   // false: the file was missing or damaged at start
   bool              Encode(const MtbJournalEntry &e,uchar &bytes[]);
   bool              Decode(const uchar &bytes[],const int len,MtbJournalEntry &e);
   bool              Append(const MtbJournalEntry &e,const int handle);
   void              Upsert(const MtbJournalEntry &e);
public:
                     MtbJournal(void) { m_count=0; m_file=""; m_intact=false; }
   bool              Load(const ulong login);
   bool              Intact(void) const { return(m_intact); }
   bool              TicketClaimed(const ulong ticket,const string except_key) const;
   bool              Compact(void);
   int               Find(const string key) const;
   int               Total(void) const { return(m_count); }
   bool              Entry(const int index,MtbJournalEntry &e) const;
   bool              Write(const MtbJournalEntry &e);
  };

bool MtbJournal::Encode(const MtbJournalEntry &e,uchar &bytes[])
  {
   MpWriter w;
   w.MapHeader(17);
   w.Str("key");      w.Str(e.key);
   w.Str("state");    w.Int(e.state);
   w.Str("ok");       w.Bool(e.result.ok);
   w.Str("retcode");  w.Int(e.result.retcode);
   w.Str("ticket");   w.UInt(e.result.ticket);
   w.Str("price");    w.Double(e.result.price);
   w.Str("volume");   w.Double(e.result.volume);
   w.Str("time");     w.UInt(e.result.time);
   w.Str("message");  w.Str(e.result.message);
   w.Str("at");       w.UInt(e.at_ms);
   w.Str("command");  w.Str(e.command);
   w.Str("cticket");  w.UInt(e.ticket);
   w.Str("magic");    w.Int(e.magic);
   w.Str("comment");  w.Str(e.comment);
   w.Str("symbol");   w.Str(e.symbol);
   w.Str("side");     w.Str(e.side);
   w.Str("cvolume");  w.Double(e.volume);
   if(!w.Ok())
     {
      PrintFormat("MtBridge journal: cannot encode key %s: %s",e.key,w.Error());
      return(false);
     }
   w.CopyTo(bytes);
   return(true);
  }

bool MtbJournal::Decode(const uchar &bytes[],const int len,MtbJournalEntry &e)
  {
   MpDoc doc;
   if(!doc.Parse(bytes,len))
      return(false);
   long state=0;
   bool ok=doc.GetStr(doc.MapFind(0,"key"),e.key);
   ok=ok && doc.GetInt(doc.MapFind(0,"state"),state);
   ok=ok && doc.GetBool(doc.MapFind(0,"ok"),e.result.ok);
   ok=ok && doc.GetInt(doc.MapFind(0,"retcode"),e.result.retcode);
   ok=ok && doc.GetUInt(doc.MapFind(0,"ticket"),e.result.ticket);
   ok=ok && doc.GetNumber(doc.MapFind(0,"price"),e.result.price);
   ok=ok && doc.GetNumber(doc.MapFind(0,"volume"),e.result.volume);
   ok=ok && doc.GetUInt(doc.MapFind(0,"time"),e.result.time);
   ok=ok && doc.GetStr(doc.MapFind(0,"message"),e.result.message);
   ok=ok && doc.GetUInt(doc.MapFind(0,"at"),e.at_ms);
   ok=ok && doc.GetStr(doc.MapFind(0,"command"),e.command);
   ok=ok && doc.GetUInt(doc.MapFind(0,"cticket"),e.ticket);
   ok=ok && doc.GetInt(doc.MapFind(0,"magic"),e.magic);
   ok=ok && doc.GetStr(doc.MapFind(0,"comment"),e.comment);
   //--- fields added later: absent in records written by older versions
   e.symbol="";
   e.side="";
   e.volume=0.0;
   if(doc.MapFind(0,"symbol")>=0)
      ok=ok && doc.GetStr(doc.MapFind(0,"symbol"),e.symbol);
   if(doc.MapFind(0,"side")>=0)
      ok=ok && doc.GetStr(doc.MapFind(0,"side"),e.side);
   if(doc.MapFind(0,"cvolume")>=0)
      ok=ok && doc.GetNumber(doc.MapFind(0,"cvolume"),e.volume);
   e.state=(int)state;
   e.result.key=e.key;
   return(ok);
  }

void MtbJournal::Upsert(const MtbJournalEntry &e)
  {
   int k=Find(e.key);
   if(k<0)
     {
      k=m_count;
      ArrayResize(m_items,m_count+1,256);
      m_count++;
     }
   m_items[k]=e;
  }

int MtbJournal::Find(const string key) const
  {
   for(int k=m_count-1; k>=0; k--)
      if(m_items[k].key==key)
         return(k);
   return(-1);
  }

bool MtbJournal::Entry(const int index,MtbJournalEntry &e) const
  {
   if(index<0 || index>=m_count)
      return(false);
   e=m_items[index];
   return(true);
  }

//--- true if another key's open already answered with this ticket (the fallback must not take it)
bool MtbJournal::TicketClaimed(const ulong ticket,const string except_key) const
  {
   for(int k=0; k<m_count; k++)
      if(m_items[k].key!=except_key && m_items[k].state==MTB_J_DONE && m_items[k].command=="open" &&
         m_items[k].result.ok && m_items[k].result.ticket==ticket)
         return(true);
   return(false);
  }

bool MtbJournal::Append(const MtbJournalEntry &e,const int handle)
  {
   uchar bytes[];
   if(!Encode(e,bytes))
      return(false);
   int n=ArraySize(bytes);
   uchar head[4];
   head[0]=(uchar)((n>>24)&0xff);
   head[1]=(uchar)((n>>16)&0xff);
   head[2]=(uchar)((n>>8)&0xff);
   head[3]=(uchar)(n&0xff);
   if(FileWriteArray(handle,head,0,4)!=4 || FileWriteArray(handle,bytes,0,n)!=(uint)n)
     {
      PrintFormat("MtBridge journal: writing %s failed, error %d",m_file,GetLastError());
      return(false);
     }
   return(true);
  }

//--- read the journal of this login; compact it when it holds more than MTB_J_KEEP keys
bool MtbJournal::Load(const ulong login)
  {
   m_file="MtBridge\\journal_"+IntegerToString((long)login)+".bin";
   m_count=0;
   m_intact=false;
   ArrayResize(m_items,0,256);
   if(!FileIsExist(m_file))
     {
      PrintFormat("MtBridge journal: %s does not exist (first start, or lost): opens are also checked in the history",m_file);
      return(true);
     }
   int h=FileOpen(m_file,FILE_READ|FILE_BIN);
   if(h==INVALID_HANDLE)
     {
      PrintFormat("MtBridge journal: cannot open %s, error %d",m_file,GetLastError());
      return(false);
     }
   int records=0;
   bool damaged=false;
   while(!FileIsEnding(h))
     {
      uchar head[];
      if(FileReadArray(h,head,0,4)!=4)
        {
         PrintFormat("MtBridge journal: %s ends in a partial record header after %d records (crash during a write); ignored",m_file,records);
         damaged=true;
         break;
        }
      int n=(int)(((uint)head[0]<<24)|((uint)head[1]<<16)|((uint)head[2]<<8)|(uint)head[3]);
      uchar body[];
      if(n<=0 || n>MTB_MAX_JOURNAL_RECORD || FileReadArray(h,body,0,n)!=(uint)n)
        {
         PrintFormat("MtBridge journal: %s has a bad or partial record after %d records; ignored from there",m_file,records);
         damaged=true;
         break;
        }
      MtbJournalEntry e;
      if(!Decode(body,n,e))
        {
         PrintFormat("MtBridge journal: record %d of %s does not decode; skipped",records,m_file);
         damaged=true;
         continue;
        }
      Upsert(e);
      records++;
     }
   FileClose(h);
   m_intact=!damaged;
   PrintFormat("MtBridge journal: %d keys loaded from %s",m_count,m_file);
   if(m_count>MTB_J_KEEP)
     {
      int drop=m_count-MTB_J_KEEP;
      for(int k=0; k<MTB_J_KEEP; k++)
         m_items[k]=m_items[k+drop];
      m_count=MTB_J_KEEP;
      ArrayResize(m_items,m_count);
      Compact();
     }
   return(true);
  }

//--- rewrite the journal from memory, crash-safe: the records go to <file>.tmp, which then
//--- replaces the journal in one FileMove; a crash before the move leaves the old file whole
bool MtbJournal::Compact(void)
  {
   string tmp=m_file+".tmp";
   int w=FileOpen(tmp,FILE_WRITE|FILE_BIN);
   if(w==INVALID_HANDLE)
     {
      PrintFormat("MtBridge journal: cannot create %s, error %d; %s kept as it is",tmp,GetLastError(),m_file);
      return(false);
     }
   bool ok=true;
   for(int k=0; k<m_count && ok; k++)
      ok=Append(m_items[k],w);
   FileClose(w);
   if(!ok)
     {
      FileDelete(tmp);
      PrintFormat("MtBridge journal: compaction of %s abandoned; the file is kept as it is",m_file);
      return(false);
     }
   if(!FileMove(tmp,0,m_file,FILE_REWRITE))
     {
      PrintFormat("MtBridge journal: cannot move %s over %s, error %d; the file is kept as it is",tmp,m_file,GetLastError());
      return(false);
     }
   PrintFormat("MtBridge journal: compacted %s to the last %d keys",m_file,m_count);
   return(true);
  }

//--- append one record (pending or done) and keep it in memory
bool MtbJournal::Write(const MtbJournalEntry &e)
  {
   Upsert(e);
   int h=FileOpen(m_file,FILE_READ|FILE_WRITE|FILE_BIN);
   if(h==INVALID_HANDLE)
     {
      PrintFormat("MtBridge journal: cannot open %s for writing, error %d",m_file,GetLastError());
      return(false);
     }
   if(!FileSeek(h,0,SEEK_END))
     {
      PrintFormat("MtBridge journal: cannot seek to the end of %s, error %d",m_file,GetLastError());
      FileClose(h);
      return(false);
     }
   bool ok=Append(e,h);
   FileClose(h);
   return(ok);
  }

//+------------------------------------------------------------------+
//| MtbKeyStore: key -> opened ticket in terminal global variables.  |
//| A second store beside the journal file: when the file is lost or |
//| damaged, or an MT4 partial close / the broker rewrote the tag in |
//| the comment, an executed open is still recognised by its key.    |
//| Global variables are saved by the terminal (GlobalVariablesFlush |
//| after each write) and dropped 4 weeks after their last use.      |
//+------------------------------------------------------------------+
class MtbKeyStore
  {
private:
   string            m_prefix;
   string            Name(const string key) const;
public:
                     MtbKeyStore(void) { m_prefix=""; }
   void              Init(const ulong login) { m_prefix=MTB_KEY_GLOBAL+IntegerToString((long)login)+"."; }
   bool              Put(const string key,const ulong ticket);
   bool              Get(const string key,ulong &ticket) const;
  };

//--- FNV-1a 64 over the key's UTF-16 code units: global variable names are limited to 63
//--- characters, keys are not. The offset basis 14695981039346656037 is built from literals
//--- that fit a long (how MQL types larger literals is not documented).
string MtbKeyHash(const string key)
  {
   ulong h=(ulong)1469598103934665603*10+7;
   int n=StringLen(key);
   for(int i=0; i<n; i++)
     {
      h^=(ulong)StringGetCharacter(key,i);
      h*=(ulong)1099511628211;
     }
   return(StringFormat("%08x%08x",(uint)(h>>32),(uint)h));
  }

string MtbKeyStore::Name(const string key) const
  {
   return(m_prefix+MtbKeyHash(key));
  }

bool MtbKeyStore::Put(const string key,const ulong ticket)
  {
   string name=Name(key);
   if(GlobalVariableSet(name,(double)ticket)==0)
     {
      PrintFormat("MtBridge: GlobalVariableSet(%s) for key %s failed, error %d",name,key,GetLastError());
      return(false);
     }
   GlobalVariablesFlush();
   return(true);
  }

bool MtbKeyStore::Get(const string key,ulong &ticket) const
  {
   string name=Name(key);
   ticket=0;
   if(!GlobalVariableCheck(name))
      return(false);
   ticket=(ulong)GlobalVariableGet(name);
   return(ticket>0);
  }

#endif // MTBRIDGE_JOURNAL_MQH
