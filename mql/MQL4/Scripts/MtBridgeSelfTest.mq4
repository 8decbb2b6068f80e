//+------------------------------------------------------------------+
//| MtBridgeSelfTest - runs the protocol's golden vectors inside the |
//| terminal (generated into MtBridge/SelfTestVectors.mqh):          |
//|  1. decode(hex) -> canonical re-encode == hex                    |
//|  2. build from field values (Protocol.mqh builders) == hex       |
//|  3. daemon messages: parse+validate -> rebuild == hex            |
//| Prints PASS/FAIL per vector and a summary. No DLL, no network.   |
//+------------------------------------------------------------------+
#property copyright "mtbridge, Apache-2.0"
#property version   "1.00"
#property strict

#include <MtBridge/SelfTestVectors.mqh>

bool SameBytes(MpWriter &w,const uchar &expected[],const int n,string &got)
  {
   uchar bytes[];
   int len=w.CopyTo(bytes);
   got=MpToHex(bytes,len);
   if(len!=n)
      return(false);
   for(int k=0; k<n; k++)
      if(bytes[k]!=expected[k])
         return(false);
   return(true);
  }

void OnStart()
  {
   int failed=0;
   for(int k=0; k<MTB_VECTOR_COUNT; k++)
     {
      string name=MTB_VECTOR_NAMES[k];
      string why="";
      uchar frame[];
      int n=MpFromHex(MTB_VECTOR_HEX[k],frame);
      string got="";
      MpDoc doc;
      MpWriter w1,w2,w3;
      if(n<=0)
         why="bad hex in the vector table";
      else if(!doc.Parse(frame,n))
         why="decode failed: "+doc.Error();
      else if(!MpEncodeNode(doc,0,w1) || !SameBytes(w1,frame,n,got))
         why="decode/re-encode differs: "+got+" "+w1.Error();
      else if(!MtbVecBuild(k,w2) || !SameBytes(w2,frame,n,got))
         why="build from fields differs: "+got+" "+w2.Error();
      else if(MtbSchemaIndex(MTB_VECTOR_TYPES[k])<0)
         why="type missing from MTB_SCHEMA";
      else if(StringFind(MtbSchemaPart(MtbSchemaIndex(MTB_VECTOR_TYPES[k]),1),"t")>=0)
        {
         MtbInbound m;
         string err="";
         if(!MtbParseInbound(frame,n,m,err))
            why="parse as a daemon message failed: "+err;
         else if(!MtbBuildInbound(w3,m) || !SameBytes(w3,frame,n,got))
            why="parse/rebuild differs: "+got+" "+w3.Error();
        }
      if(why=="")
         PrintFormat("PASS %s",name);
      else
        {
         failed++;
         PrintFormat("FAIL %s: %s",name,why);
        }
     }
   PrintFormat("MtBridgeSelfTest: %d of %d vectors passed",MTB_VECTOR_COUNT-failed,MTB_VECTOR_COUNT);
  }
