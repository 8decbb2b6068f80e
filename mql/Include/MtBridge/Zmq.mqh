//+------------------------------------------------------------------+
//| MtBridge/Zmq.mqh - the project's own thin libzmq binding         |
//| Only the libzmq functions the EAs use, imported from libzmq.dll  |
//| (docs/mql.md says which build to install and how to check it).   |
//| Byte buffers are uchar[] throughout: MT5 build 5100+ refuses     |
//| char[] where the DLL signature says const uchar[].               |
//| Handles are pointers: 64-bit on MT5, 32-bit on MT4; size_t too.  |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_ZMQ_MQH
#define MTBRIDGE_ZMQ_MQH

#ifdef __MQL4__
#property strict
#endif

#ifdef __MQL5__
#define MTB_ZPTR   long
#define MTB_ZSIZE  ulong
#else
#define MTB_ZPTR   int
#define MTB_ZSIZE  uint
#endif

#import "libzmq.dll"
MTB_ZPTR zmq_ctx_new(void);
int      zmq_ctx_term(MTB_ZPTR context);
MTB_ZPTR zmq_socket(MTB_ZPTR context,int type);
int      zmq_close(MTB_ZPTR socket);
int      zmq_setsockopt(MTB_ZPTR socket,int option,const uchar &value[],MTB_ZSIZE size);
int      zmq_getsockopt(MTB_ZPTR socket,int option,uchar &value[],MTB_ZSIZE &size);
int      zmq_connect(MTB_ZPTR socket,const uchar &endpoint[]);
int      zmq_send(MTB_ZPTR socket,const uchar &buf[],MTB_ZSIZE len,int flags);
int      zmq_recv(MTB_ZPTR socket,uchar &buf[],MTB_ZSIZE len,int flags);
int      zmq_errno(void);
void     zmq_version(int &major,int &minor,int &patch);
int      zmq_has(const uchar &capability[]);
int      zmq_socket_monitor(MTB_ZPTR socket,const uchar &endpoint[],int events);
#import

//--- libzmq constants (zmq.h, stable since libzmq 4.0)
#define MTB_ZMQ_PAIR            0
#define MTB_ZMQ_DEALER          5
#define MTB_ZMQ_DONTWAIT        1
#define MTB_ZMQ_RCVMORE         13
#define MTB_ZMQ_LINGER          17
#define MTB_ZMQ_MAXMSGSIZE      22
#define MTB_ZMQ_CURVE_PUBLICKEY 48
#define MTB_ZMQ_CURVE_SECRETKEY 49
#define MTB_ZMQ_CURVE_SERVERKEY 50
//--- socket monitor events (zmq.h, libzmq 4.3): the CURVE handshake's outcome
#define MTB_ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL 0x0800
#define MTB_ZMQ_EVENT_HANDSHAKE_SUCCEEDED        0x1000
#define MTB_ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL  0x2000
#define MTB_ZMQ_EVENT_HANDSHAKE_FAILED_AUTH      0x4000
//--- errno: EAGAIN is 11 in both the MSVC CRT (Windows builds) and glibc (the Linux checks)
#define MTB_ZMQ_EAGAIN          11
#define MTB_ZMQ_HAUSNUMERO      156384712
#define MTB_ZMQ_EFSM            (MTB_ZMQ_HAUSNUMERO+51)
#define MTB_ZMQ_ETERM           (MTB_ZMQ_HAUSNUMERO+53)

//--- NUL-terminated UTF-8 bytes of a string (libzmq reads C strings)
void MtbZmqCString(const string s,uchar &out[])
  {
   int n=StringToCharArray(s,out,0,WHOLE_ARRAY,CP_UTF8);
   if(n<=0 || out[n-1]!=0)
     {
      ArrayResize(out,n+1);
      out[n]=0;
     }
  }

//--- integer options travel as little-endian bytes of the option's C width
bool MtbZmqSetInt(const MTB_ZPTR sock,const int option,const long value,const int width)
  {
   uchar bytes[];
   ArrayResize(bytes,width);
   for(int k=0; k<width; k++)
      bytes[k]=(uchar)((value>>(8*k))&0xFF);
   return(zmq_setsockopt(sock,option,bytes,(MTB_ZSIZE)width)==0);
  }

//--- a Z85 CURVE key: 40 characters plus the NUL libzmq expects (41 bytes)
bool MtbZmqSetKey(const MTB_ZPTR sock,const int option,const string z85)
  {
   uchar bytes[];
   MtbZmqCString(z85,bytes);
   return(zmq_setsockopt(sock,option,bytes,(MTB_ZSIZE)ArraySize(bytes))==0);
  }

//--- true when the last frame received has more parts after it
bool MtbZmqMore(const MTB_ZPTR sock)
  {
   uchar bytes[];
   ArrayResize(bytes,4);
   ArrayInitialize(bytes,0);
   MTB_ZSIZE size=4;
   if(zmq_getsockopt(sock,MTB_ZMQ_RCVMORE,bytes,size)!=0)
      return(false);
   return(bytes[0]!=0 || bytes[1]!=0 || bytes[2]!=0 || bytes[3]!=0);
  }

//--- "4.3.5": the libzmq build the terminal loaded
string MtbZmqVersion(void)
  {
   int major=0,minor=0,patch=0;
   zmq_version(major,minor,patch);
   return(IntegerToString(major)+"."+IntegerToString(minor)+"."+IntegerToString(patch));
  }

//--- the DLL must be libzmq >= 4.3 built with libsodium (CURVE); older or plain builds are refused at start
bool MtbZmqUsable(string &why)
  {
   int major=0,minor=0,patch=0;
   zmq_version(major,minor,patch);
   if(major<4 || (major==4 && minor<3))
     {
      why="libzmq.dll is version "+MtbZmqVersion()+"; 4.3 or newer is needed (docs/mql.md section 1)";
      return(false);
     }
   uchar curve[];
   MtbZmqCString("curve",curve);
   if(zmq_has(curve)!=1)
     {
      why="libzmq.dll "+MtbZmqVersion()+" was built without CURVE (libsodium); see docs/mql.md section 1";
      return(false);
     }
   why="";
   return(true);
  }

//--- a readable name for the errno values the link reports (zmq_strerror returns a C pointer MQL cannot read)
string MtbZmqErrorText(const int err)
  {
   if(err==MTB_ZMQ_EAGAIN)
      return("EAGAIN (nothing to receive, or the send queue is full)");
   if(err==MTB_ZMQ_EFSM)
      return("EFSM (socket in the wrong state)");
   if(err==MTB_ZMQ_ETERM)
      return("ETERM (context terminated)");
   return("errno "+IntegerToString(err));
  }

//--- what a failed CURVE handshake means for the person reading the Experts log
string MtbZmqHandshakeText(const int event,const int value)
  {
   if(event==MTB_ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
      return("the daemon refused this terminal's CURVE key (ZAP status "+IntegerToString(value)+
             "): InpClientPublicKey must be in the daemon's allow-list, bound to this login and role");
   if(event==MTB_ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
      return("CURVE handshake protocol error 0x"+StringFormat("%x",value)+
             ": check that InpServerPublicKey is the daemon's public key");
   return("the CURVE handshake failed ("+MtbZmqErrorText(value)+
          "): usually InpServerPublicKey is not the daemon's public key, or the endpoint is not an mtbridge daemon");
  }

#endif
