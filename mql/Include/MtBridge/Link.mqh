//+------------------------------------------------------------------+
//| MtBridge/Link.mqh - the DEALER connection to the daemon          |
//| CURVE, ids, sequence numbers both ways, heartbeat, reconnect.    |
//| libzmq through MtBridge/Zmq.mqh (DLLs: docs/mql.md).             |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_LINK_MQH
#define MTBRIDGE_LINK_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Zmq.mqh"
#include "Protocol.mqh"
#include "Util.mqh"

#define MTB_MAX_FRAME      65536    // default frame limit = the daemon's default max_frame_size
#define MTB_MIN_FRAME      1024     // the daemon's lowest allowed max_frame_size
#define MTB_REFUSED_WAIT_MS 60000   // reconnect delay after a refused or oversized hello
#define MTB_OFFLINE_BEATS  5
#define MTB_MAX_REDIRECTS  5   // redirects in a row before going back to the configured endpoint
#define MTB_ID_GLOBAL      "MtBridge.next_id."

//--- link states
#define MTB_LINK_DOWN      0   // no socket; reconnect when due
#define MTB_LINK_HELLO     1   // socket open, hello not yet sent
#define MTB_LINK_WAIT      2   // hello sent, waiting for welcome
#define MTB_LINK_UP        3   // welcome received

class MtbLink
  {
private:
   MTB_ZPTR          m_ctx;
   MTB_ZPTR          m_sock;
   MTB_ZPTR          m_mon;           // PAIR reading m_sock's handshake events (0: none)
   int               m_mon_seq;       // makes each monitor's inproc name unique in the context
   int               m_hs_failures;   // failed handshakes since the last success
   int               m_hs_event;      // the last failure reported, so a retry loop logs once
   uchar             m_rx[];
   string            m_endpoint;      // where the link connects: m_home, or where a redirect sent it
   string            m_home;          // the configured endpoint (the InpEndpoint input)
   int               m_redirects;     // redirects followed since the last welcome
   string            m_server_key;
   string            m_public_key;
   string            m_secret_key;
   int               m_state;
   ulong             m_login;
   ulong             m_seq_out;
   ulong             m_seq_in;
   ulong             m_next_id;
   ulong             m_hb_ms;
   ulong             m_hb_default;
   ulong             m_reconnect_ms;
   ulong             m_last_tx;
   ulong             m_last_rx;
   ulong             m_retry_at;
   int               m_max_frame;
   bool              m_welcome_new;   // a welcome arrived that the reporter has not handled yet
   ulong             m_last_id;       // its last_id
   ulong             m_welcomes;      // welcomes received so far (the order watch's snapshot follows each)
   bool              m_resume;        // the last welcome's resume: the daemon knew this login
   string            m_quote_symbols[]; // its quote_symbols: what the reporter quotes in `quotes`
   string            m_tag;
   void              Backoff(const ulong wait_ms)
     {
      ulong at=MtbNowMs()+wait_ms;
      if(at>m_retry_at)
         m_retry_at=at;
     }
   bool              ValidKey(const string name,const string key)
     {
      if(StringLen(key)!=40)
        {
         PrintFormat("%s: %s must be a 40-character Z85 key, got %d characters",m_tag,name,StringLen(key));
         return(false);
        }
      return(true);
     }
   void              SaveNextId(void)
     {
      string name=MTB_ID_GLOBAL+IntegerToString((long)m_login);
      if(GlobalVariableSet(name,(double)m_next_id)==0)
         PrintFormat("%s: GlobalVariableSet(%s) failed, error %d",m_tag,name,GetLastError());
     }
   bool              SendBytes(const uchar &bytes[],const string type);
   void              WatchHandshake(void);
   void              PollHandshake(void);
public:
                     MtbLink(void)
     {
      m_ctx=0;
      m_sock=0;
      m_mon=0;
      m_mon_seq=0;
      m_hs_failures=0;
      m_hs_event=0;
      m_state=MTB_LINK_DOWN;
      m_seq_out=0;
      m_seq_in=0;
      m_next_id=0;
      m_retry_at=0;
      m_max_frame=MTB_MAX_FRAME;
      m_welcome_new=false;
      m_last_id=0;
      m_welcomes=0;
      m_resume=false;
      m_tag="MtBridge";
      m_redirects=0;
     }
                    ~MtbLink(void) { Shutdown(); }
   bool              Init(const string tag,const string endpoint,const string server_key,
                          const string public_key,const string secret_key,const int heartbeat_ms,
                          const int reconnect_ms,const ulong login);
   bool              SetMaxFrame(const int bytes);
   bool              Open(void);
   void              Close(const string why);
   void              Shutdown(void);
   int               State(void) const { return(m_state); }
   bool              CanSend(void) const { return(m_state==MTB_LINK_WAIT || m_state==MTB_LINK_UP); }
   bool              IsUp(void) const { return(m_state==MTB_LINK_UP); }
   ulong             Welcomes(void) const { return(m_welcomes); }
   bool              Resumed(void) const { return(m_resume); }
   bool              TakeWelcome(ulong &last_id);
   int               QuoteSymbols(string &out[]) const;
   bool              NeedsHello(void) const { return(m_state==MTB_LINK_HELLO); }
   bool              ReconnectDue(void) const { return(m_state==MTB_LINK_DOWN && MtbNowMs()>=m_retry_at); }
   void              NextEnvelope(MtbEnvelope &env);
   bool              Send(MpWriter &w,const string type);
   bool              Receive(MtbInbound &m,bool &got);
   void              Tick(void);
  };

bool MtbLink::Init(const string tag,const string endpoint,const string server_key,
                   const string public_key,const string secret_key,const int heartbeat_ms,
                   const int reconnect_ms,const ulong login)
  {
   m_tag=tag;
   m_endpoint=endpoint;
   m_home=endpoint;
   m_redirects=0;
   m_server_key=server_key;
   m_public_key=public_key;
   m_secret_key=secret_key;
   m_hb_default=(heartbeat_ms>0) ? (ulong)heartbeat_ms : 1000;
   m_hb_ms=m_hb_default;
   m_reconnect_ms=(reconnect_ms>0) ? (ulong)reconnect_ms : 3000;
   m_login=login;
   if(m_endpoint=="")
     {
      PrintFormat("%s: the endpoint input is empty",m_tag);
      return(false);
     }
   if(!ValidKey("InpServerPublicKey",server_key) || !ValidKey("InpClientPublicKey",public_key) ||
      !ValidKey("InpClientSecretKey",secret_key))
      return(false);
   //--- ids are unique per sender across restarts: persisted counter, never below ms*1000
   string name=MTB_ID_GLOBAL+IntegerToString((long)m_login);
   ulong floor_id=MtbNowMs()*1000;
   ulong stored=GlobalVariableCheck(name) ? (ulong)GlobalVariableGet(name) : 0;
   m_next_id=(stored>floor_id) ? stored : floor_id;
   string why="";
   if(!MtbZmqUsable(why))
     {
      PrintFormat("%s: %s",m_tag,why);
      return(false);
     }
   PrintFormat("%s: libzmq %s with CURVE",m_tag,MtbZmqVersion());
   m_ctx=zmq_ctx_new();
   if(m_ctx==0)
     {
      PrintFormat("%s: cannot create a ZeroMQ context (are DLL imports allowed and libzmq.dll installed?), error %d",
                  m_tag,GetLastError());
      return(false);
     }
   return(true);
  }

//--- the frame limit both ways; must equal the daemon's [daemon] max_frame_size (default 65 536)
bool MtbLink::SetMaxFrame(const int bytes)
  {
   if(bytes<MTB_MIN_FRAME)
     {
      PrintFormat("%s: the frame limit must be at least %d bytes (the daemon's minimum), got %d",m_tag,MTB_MIN_FRAME,bytes);
      return(false);
     }
   m_max_frame=bytes;
   return(true);
  }

//--- true once per welcome: the reporter then re-sends the reports above last_id
bool MtbLink::TakeWelcome(ulong &last_id)
  {
   if(!m_welcome_new || m_state!=MTB_LINK_UP)
      return(false);
   m_welcome_new=false;
   last_id=m_last_id;
   return(true);
  }

//--- the symbols the last welcome asked this terminal to quote (0..MTB_MAX_QUOTES)
int MtbLink::QuoteSymbols(string &out[]) const
  {
   int n=ArraySize(m_quote_symbols);
   ArrayResize(out,n);
   for(int k=0; k<n; k++)
      out[k]=m_quote_symbols[k];
   return(n);
  }

bool MtbLink::Open(void)
  {
   Close("reopening");
   m_sock=zmq_socket(m_ctx,MTB_ZMQ_DEALER);
   if(m_sock==0)
     {
      PrintFormat("%s: cannot create a DEALER socket: %s (error %d)",m_tag,
                  MtbZmqErrorText(zmq_errno()),GetLastError());
      Close("socket creation failed");
      return(false);
     }
   bool ok=MtbZmqSetInt(m_sock,MTB_ZMQ_LINGER,0,4);
   ok=ok && MtbZmqSetInt(m_sock,MTB_ZMQ_MAXMSGSIZE,m_max_frame,8);
   ok=ok && MtbZmqSetKey(m_sock,MTB_ZMQ_CURVE_SERVERKEY,m_server_key);
   ok=ok && MtbZmqSetKey(m_sock,MTB_ZMQ_CURVE_PUBLICKEY,m_public_key);
   ok=ok && MtbZmqSetKey(m_sock,MTB_ZMQ_CURVE_SECRETKEY,m_secret_key);
   if(!ok)
     {
      PrintFormat("%s: setting socket options (linger, max size, CURVE keys) failed: %s",m_tag,
                  MtbZmqErrorText(zmq_errno()));
      Close("socket options failed");
      return(false);
     }
   WatchHandshake();
   uchar endpoint[];
   MtbZmqCString(m_endpoint,endpoint);
   if(zmq_connect(m_sock,endpoint)!=0)
     {
      PrintFormat("%s: connect(%s) failed: %s",m_tag,m_endpoint,MtbZmqErrorText(zmq_errno()));
      Close("connect failed");
      return(false);
     }
   m_state=MTB_LINK_HELLO;
   m_seq_out=0;
   m_seq_in=0;
   m_welcome_new=false;
   m_hb_ms=m_hb_default;
   m_last_rx=MtbNowMs();
   m_last_tx=m_last_rx;
   PrintFormat("%s: connecting to %s",m_tag,m_endpoint);
   return(true);
  }

void MtbLink::Close(const string why)
  {
   if(m_sock!=0)
     {
      PrintFormat("%s: closing the connection: %s",m_tag,why);
      zmq_close(m_sock);
     }
   m_sock=0;
   PollHandshake();  // a failure already reported belongs to this connection's log, not lost with the monitor
   if(m_mon!=0)
      zmq_close(m_mon);
   m_mon=0;
   if(m_hs_failures>1)
      PrintFormat("%s: %d CURVE handshakes failed on that connection",m_tag,m_hs_failures);
   m_hs_failures=0;
   m_hs_event=0;
   if(m_state!=MTB_LINK_DOWN)
      m_retry_at=MtbNowMs()+m_reconnect_ms;
   m_state=MTB_LINK_DOWN;
  }

void MtbLink::Shutdown(void)
  {
   Close("shutdown");
   if(m_ctx!=0)
      zmq_ctx_term(m_ctx);
   m_ctx=0;
  }

//--- the next id and seq; the caller builds exactly one message with them and sends it
void MtbLink::NextEnvelope(MtbEnvelope &env)
  {
   env.id=m_next_id;
   m_next_id++;
   SaveNextId();
   m_seq_out++;
   env.seq=m_seq_out;
   env.ts=MtbNowMs();
   env.login=m_login;
  }

bool MtbLink::SendBytes(const uchar &bytes[],const string type)
  {
   if(m_sock==0)
     {
      PrintFormat("%s: %s not sent: no connection",m_tag,type);
      return(false);
     }
   if(zmq_send(m_sock,bytes,(MTB_ZSIZE)ArraySize(bytes),MTB_ZMQ_DONTWAIT)<0)
     {
      //--- EAGAIN: the send queue is full (daemon unreachable); the hello snapshot will resync
      PrintFormat("%s: sending %s failed: %s; reconnecting",m_tag,type,MtbZmqErrorText(zmq_errno()));
      Close("send failed");
      return(false);
     }
   m_last_tx=MtbNowMs();
   return(true);
  }

bool MtbLink::Send(MpWriter &w,const string type)
  {
   if(!w.Ok())
     {
      //--- a seq was consumed by the failed build: restart the connection to stay gap-free
      PrintFormat("%s: cannot encode %s: %s; reconnecting",m_tag,type,w.Error());
      Close("encoding failed");
      return(false);
     }
   if(w.Length()>m_max_frame)
     {
      if(type=="hello")
        {
         //--- the daemon would refuse it (frame_too_large) on every attempt: say why, retry slowly
         PrintFormat("%s: the hello snapshot is %d bytes, above the %d-byte frame limit (about 150 bytes per open position); "
                     "raise InpMaxFrameBytes and the daemon's [daemon] max_frame_size to the same value. Retrying in %d s",
                     m_tag,w.Length(),m_max_frame,MTB_REFUSED_WAIT_MS/1000);
         Close("hello too large");
         Backoff(MTB_REFUSED_WAIT_MS);
         return(false);
        }
      PrintFormat("%s: %s is %d bytes, above the %d-byte frame limit; reconnecting",m_tag,type,w.Length(),m_max_frame);
      Close("frame too large");
      return(false);
     }
   uchar bytes[];
   w.CopyTo(bytes);
   if(!SendBytes(bytes,type))
      return(false);
   if(type=="hello")
      m_state=MTB_LINK_WAIT;
   return(true);
  }

//--- non-blocking receive of one daemon message; got=false when nothing is waiting.
//--- Returns false when the link had to be closed (protocol violation or sequence error).
bool MtbLink::Receive(MtbInbound &m,bool &got)
  {
   got=false;
   if(m_sock==0)
      return(true);
   if(ArraySize(m_rx)!=m_max_frame)
      ArrayResize(m_rx,m_max_frame);
   int len=zmq_recv(m_sock,m_rx,(MTB_ZSIZE)m_max_frame,MTB_ZMQ_DONTWAIT);
   if(len<0)
     {
      int err=zmq_errno();
      if(err==MTB_ZMQ_EAGAIN)
         return(true);
      PrintFormat("%s: receive failed: %s; reconnecting",m_tag,MtbZmqErrorText(err));
      Close("receive failed");
      return(false);
     }
   if(MtbZmqMore(m_sock))
     {
      PrintFormat("%s: the daemon sent a multi-frame message (protocol violation); reconnecting",m_tag);
      Close("multi-frame message");
      return(false);
     }
   if(len>m_max_frame)
     {
      //--- libzmq's MAXMSGSIZE drops such frames; this guards a DLL built without it
      PrintFormat("%s: the daemon sent a %d-byte frame, above the %d-byte limit; reconnecting",m_tag,len,m_max_frame);
      Close("frame too large");
      return(false);
     }
   m_last_rx=MtbNowMs();
   string err="";
   if(!MtbParseInbound(m_rx,len,m,err))
     {
      PrintFormat("%s: refused a daemon frame of %d bytes: %s; reconnecting",m_tag,len,err);
      Close("bad frame");
      return(false);
     }
   //--- an error is printed in full whatever the state: before welcome it says why the hello
   //--- was refused (login_not_bound, role_mismatch, a bad field...)
   if(m.type=="error")
      PrintFormat("%s: daemon error %s field '%s' ref_id %I64u: %s",m_tag,m.code,m.field,m.ref_id,m.detail);
   //--- sequence check of the daemon's messages (section 6), before the login check: a
   //--- message for another login still took a seq, so skipping it must not look like a gap
   if(m.type=="redirect")
     {
      //--- daemons sharded by trader: this one does not serve the login (docs/protocol.md):
      //--- seq 1 answers the hello; the session's next seq is unsolicited (the daemon handed
      //--- the shard over to another daemon: rebalancing)
      ulong expected=(m_state==MTB_LINK_UP) ? m_seq_in+1 : 1;
      if(m.seq!=expected || m_login!=m.login)
        {
         PrintFormat("%s: redirect with seq %I64u for login %I64u; reconnecting",m_tag,m.seq,m.login);
         Close("bad redirect");
         return(false);
        }
      if(m.endpoint=="")
        {
         PrintFormat("%s: shard %s has no daemon right now (failover); hello again in %I64u ms",m_tag,m.shard,m_hb_ms);
         Close("redirect: no owner");
         m_retry_at=MtbNowMs()+m_hb_ms;
         return(false);
        }
      m_redirects++;
      if(m_redirects>MTB_MAX_REDIRECTS)
        {
         PrintFormat("%s: %d redirects in a row; back to %s in %d s",m_tag,m_redirects-1,m_home,MTB_REFUSED_WAIT_MS/1000);
         m_endpoint=m_home;
         m_redirects=0;
         Close("too many redirects");
         Backoff(MTB_REFUSED_WAIT_MS);
         return(false);
        }
      PrintFormat("%s: shard %s is served at %s; reconnecting there",m_tag,m.shard,m.endpoint);
      m_endpoint=m.endpoint;
      Close("redirect");
      m_retry_at=MtbNowMs();
      return(false);
     }
   if(m.type=="welcome")
     {
      if(m.seq!=1)
        {
         PrintFormat("%s: welcome with seq %I64u (must be 1); reconnecting",m_tag,m.seq);
         Close("bad_start_seq");
         return(false);
        }
      m_seq_in=1;
     }
   else if(m_state!=MTB_LINK_UP)
     {
      if(m.type=="error" && !MtbIsSequenceCode(m.code))
        {
         //--- the hello itself was refused: the same hello would be refused again at once
         PrintFormat("%s: the daemon refused the hello (%s); retrying in %d s",m_tag,m.code,MTB_REFUSED_WAIT_MS/1000);
         Close("hello refused: "+m.code);
         Backoff(MTB_REFUSED_WAIT_MS);
         return(false);
        }
      PrintFormat("%s: %s before welcome (not_started); reconnecting",m_tag,m.type);
      Close("not_started");
      return(false);
     }
   else if(m.seq!=m_seq_in+1)
     {
      PrintFormat("%s: daemon seq %I64u after %I64u (%s); reconnecting",m_tag,m.seq,m_seq_in,
                  m.seq<=m_seq_in ? "sequence_replay" : "sequence_gap");
      Close("daemon sequence");
      return(false);
     }
   else
      m_seq_in=m.seq;
   if(m.login!=m_login)
     {
      PrintFormat("%s: %s addressed to login %I64u, this terminal is %I64u; ignored",m_tag,m.type,m.login,m_login);
      if(m.type=="welcome")
        {
         Close("welcome for another login");
         return(false);
        }
      return(true);
     }
   if(m.type=="welcome")
     {
      m_hb_ms=(m.heartbeat_ms>0) ? m.heartbeat_ms : m_hb_default;
      m_state=MTB_LINK_UP;
      m_redirects=0;
      m_welcome_new=true;
      m_last_id=m.last_id;
      m_welcomes++;
      m_resume=m.resume;
      int nq=ArraySize(m.quote_symbols);
      ArrayResize(m_quote_symbols,nq);
      for(int k=0; k<nq; k++)
         m_quote_symbols[k]=m.quote_symbols[k];
      PrintFormat("%s: welcome (resume=%s, heartbeat %I64u ms, last journaled id %I64u)",m_tag,
                  m.resume ? "true" : "false",m_hb_ms,m.last_id);
     }
   if(m.type=="error" && MtbIsSequenceCode(m.code))
     {
      Close("sequence error "+m.code);
      return(false);
     }
   got=true;
   return(true);
  }

//--- heartbeat and liveness: reads two clocks and sends at most one heartbeat, so it is cheap
//--- enough to call between commands of a long batch (MtBridgeInvestor) as well as from OnTimer
void MtbLink::Tick(void)
  {
   PollHandshake();
   if(!CanSend())
      return;
   ulong now=MtbNowMs();
   if(now>m_last_rx+MTB_OFFLINE_BEATS*m_hb_ms)
     {
      PrintFormat("%s: the daemon was silent for %I64u ms (> %d heartbeats); reconnecting",m_tag,now-m_last_rx,MTB_OFFLINE_BEATS);
      Close("daemon offline");
      if(m_endpoint!=m_home)
        {
         //--- a redirect target that died (failover): any daemon redirects us to the new owner
         PrintFormat("%s: back to %s",m_tag,m_home);
         m_endpoint=m_home;
        }
      return;
     }
   if(now>=m_last_tx+m_hb_ms)
     {
      MtbEnvelope env;
      NextEnvelope(env);
      MpWriter w;
      MtbBuildHeartbeat(w,env);
      Send(w,"heartbeat");
     }
  }

//--- libzmq retries a refused CURVE handshake by itself and the EA would only see a silent
//--- daemon: a monitor on the socket names the cause (wrong server key, key not allowed)
void MtbLink::WatchHandshake(void)
  {
   m_mon_seq++;
   string name="inproc://mtbridge-handshake-"+IntegerToString(m_mon_seq);
   uchar endpoint[];
   MtbZmqCString(name,endpoint);
   int events=MTB_ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL|MTB_ZMQ_EVENT_HANDSHAKE_SUCCEEDED|
              MTB_ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL|MTB_ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
   if(zmq_socket_monitor(m_sock,endpoint,events)!=0)
     {
      PrintFormat("%s: no handshake diagnostics (zmq_socket_monitor: %s); the link works without them",
                  m_tag,MtbZmqErrorText(zmq_errno()));
      return;
     }
   m_mon=zmq_socket(m_ctx,MTB_ZMQ_PAIR);
   if(m_mon!=0 && (!MtbZmqSetInt(m_mon,MTB_ZMQ_LINGER,0,4) || zmq_connect(m_mon,endpoint)!=0))
     {
      zmq_close(m_mon);
      m_mon=0;
     }
  }

void MtbLink::PollHandshake(void)
  {
   if(m_mon==0)
      return;
   uchar event[];
   ArrayResize(event,256);
   for(int guard=0; guard<16; guard++)
     {
      //--- an event is two frames: 6 bytes (uint16 event, uint32 value, little-endian), then the endpoint
      int n=zmq_recv(m_mon,event,256,MTB_ZMQ_DONTWAIT);
      if(n<0)
         return;
      bool more=MtbZmqMore(m_mon);
      int kind=(n>=6) ? (int)event[0]|((int)event[1]<<8) : 0;
      int value=(n>=6) ? (int)((uint)event[2]|((uint)event[3]<<8)|((uint)event[4]<<16)|((uint)event[5]<<24)) : 0;
      if(more)
         zmq_recv(m_mon,event,256,MTB_ZMQ_DONTWAIT);
      if(kind==MTB_ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        {
         if(m_hs_failures>0)
            PrintFormat("%s: CURVE handshake succeeded after %d failure(s)",m_tag,m_hs_failures);
         m_hs_failures=0;
         m_hs_event=0;
        }
      else if(kind!=0)
        {
         m_hs_failures++;
         if(kind!=m_hs_event)
            PrintFormat("%s: %s",m_tag,MtbZmqHandshakeText(kind,value));
         m_hs_event=kind;
        }
     }
  }

#endif // MTBRIDGE_LINK_MQH
