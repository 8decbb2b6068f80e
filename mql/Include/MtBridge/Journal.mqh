//+------------------------------------------------------------------+
//| MtBridge/Journal.mqh - idempotency-key journal of the investor EA|
//| A file MQL<n>/Files/MtBridge/journal_<login>.bin of records:     |
//| 4-byte big-endian length + one msgpack map. A key is written     |
//| "pending" before its trade request and "done" with its result;   |
//| the last record of a key wins. Survives terminal restarts.       |
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
  };

class MtbJournal
  {
private:
   MtbJournalEntry   m_items[];
   int               m_count;
   string            m_file;
   bool              Encode(const MtbJournalEntry &e,uchar &bytes[]);
   bool              Decode(const uchar &bytes[],const int len,MtbJournalEntry &e);
   bool              Append(const MtbJournalEntry &e,const int handle);
   void              Upsert(const MtbJournalEntry &e);
public:
                     MtbJournal(void) { m_count=0; m_file=""; }
   bool              Load(const ulong login);
   int               Find(const string key) const;
   int               Total(void) const { return(m_count); }
   bool              Entry(const int index,MtbJournalEntry &e) const;
   bool              Write(const MtbJournalEntry &e);
  };

bool MtbJournal::Encode(const MtbJournalEntry &e,uchar &bytes[])
  {
   MpWriter w;
   w.MapHeader(14);
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
   ArrayResize(m_items,0,256);
   if(!FileIsExist(m_file))
      return(true);
   int h=FileOpen(m_file,FILE_READ|FILE_BIN);
   if(h==INVALID_HANDLE)
     {
      PrintFormat("MtBridge journal: cannot open %s, error %d",m_file,GetLastError());
      return(false);
     }
   int records=0;
   while(!FileIsEnding(h))
     {
      uchar head[];
      if(FileReadArray(h,head,0,4)!=4)
        {
         PrintFormat("MtBridge journal: %s ends in a partial record header after %d records (crash during a write); ignored",m_file,records);
         break;
        }
      int n=(int)(((uint)head[0]<<24)|((uint)head[1]<<16)|((uint)head[2]<<8)|(uint)head[3]);
      uchar body[];
      if(n<=0 || n>MTB_MAX_JOURNAL_RECORD || FileReadArray(h,body,0,n)!=(uint)n)
        {
         PrintFormat("MtBridge journal: %s has a bad or partial record after %d records; ignored from there",m_file,records);
         break;
        }
      MtbJournalEntry e;
      if(!Decode(body,n,e))
        {
         PrintFormat("MtBridge journal: record %d of %s does not decode; skipped",records,m_file);
         continue;
        }
      Upsert(e);
      records++;
     }
   FileClose(h);
   PrintFormat("MtBridge journal: %d keys loaded from %s",m_count,m_file);
   if(m_count>MTB_J_KEEP)
     {
      int drop=m_count-MTB_J_KEEP;
      for(int k=0; k<MTB_J_KEEP; k++)
         m_items[k]=m_items[k+drop];
      m_count=MTB_J_KEEP;
      ArrayResize(m_items,m_count);
      int w=FileOpen(m_file,FILE_WRITE|FILE_BIN);
      if(w==INVALID_HANDLE)
        {
         PrintFormat("MtBridge journal: cannot rewrite %s, error %d",m_file,GetLastError());
         return(true);
        }
      for(int k=0; k<m_count; k++)
         if(!Append(m_items[k],w))
            break;
      FileClose(w);
      PrintFormat("MtBridge journal: compacted %s to the last %d keys",m_file,m_count);
     }
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

#endif // MTBRIDGE_JOURNAL_MQH
