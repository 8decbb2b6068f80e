//+------------------------------------------------------------------+
//| MtBridge/ReporterResend.mqh - MtbReporter's re-send buffer       |
//| (included by Reporter.mqh only): every report goes through Emit, |
//| kept until a welcome's last_id says the daemon journaled it;     |
//| the position reports opened / modified / closed.                 |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_REPORTER_RESEND_MQH
#define MTBRIDGE_REPORTER_RESEND_MQH

//+------------------------------------------------------------------+
//| re-send buffer (welcome.last_id, protocol section 5)             |
//+------------------------------------------------------------------+
void MtbReporter::Record(const MtbReport &r)
  {
   if(m_sent_n==MTB_RESEND_MAX)
     {
      //--- the oldest was sent MTB_RESEND_MAX reports ago: journaled unless the daemon is
      //--- unreachable that long, and then the next hello snapshot covers the positions
      m_sent_head=(m_sent_head+1)%MTB_RESEND_MAX;
      m_sent_n--;
      if(m_sent_dropped%MTB_RESEND_MAX==0)
         PrintFormat("MtBridge: re-send buffer full (%d reports); the oldest are forgotten",MTB_RESEND_MAX);
      m_sent_dropped++;
     }
   m_sent[(m_sent_head+m_sent_n)%MTB_RESEND_MAX]=r;
   m_sent_n++;
  }

//--- build and send one report with the next id; kept for a re-send whether or not it left.
//--- A report made after the link went down in the same pass is kept unsent: the next
//--- welcome sends it, in order, so a pass never loses a change it already booked.
void MtbReporter::Emit(MtbReport &r)
  {
   if(!m_link.IsUp())
     {
      r.id=0;
      r.sent=false;
      Record(r);
      return;
     }
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   r.id=env.id;
   r.sent=true;
   Record(r);
   MpWriter w;
   string type="position_opened";
   if(r.kind==MTB_REPORT_OPENED)
      MtbBuildPositionOpened(w,env,r.p);
   else if(r.kind==MTB_REPORT_MODIFIED)
     {
      type="position_modified";
      MtbBuildPositionModified(w,env,r.p.ticket,r.p.sl,r.p.tp,r.p.time,r.p.swap);
     }
   else if(r.kind==MTB_REPORT_CLOSED)
     {
      type="position_closed";
      MtbBuildPositionClosed(w,env,r.p.ticket,r.p.volume,r.remaining,r.p.price,r.p.time,r.reason,r.profit);
     }
   else if(r.kind==MTB_REPORT_ORDER_PLACED)
     {
      type="order_placed";
      MtbBuildOrderPlaced(w,env,r.p.ticket,r.p.symbol,r.order_type,r.p.volume,r.p.price,r.p.sl,r.p.tp,r.expiration,
                          r.p.time,r.stoplimit,r.p.magic);
     }
   else if(r.kind==MTB_REPORT_ORDER_MODIFIED)
     {
      type="order_modified";
      MtbBuildOrderModified(w,env,r.p.ticket,r.p.price,r.p.sl,r.p.tp,r.expiration,r.p.time,r.stoplimit);
     }
   else if(r.kind==MTB_REPORT_ORDER_REMOVED)
     {
      type="order_removed";
      MtbBuildOrderRemoved(w,env,r.p.ticket,r.reason,r.p.time);
     }
   else
     {
      type="order_filled";
      MtbBuildOrderFilled(w,env,r.p.ticket,r.position,r.p.symbol,r.p.side,r.p.volume,r.p.price,r.p.sl,r.p.tp,
                          r.p.time,r.p.magic);
     }
   m_link.Send(w,type);
  }

//--- after a welcome: the reports above last_id never reached the daemon's journal; send them
//--- again, in order, with new ids, and forget the rest
void MtbReporter::Resend(const ulong last_id)
  {
   MtbReport again[];
   int n=0;
   for(int j=0; j<m_sent_n; j++)
     {
      int at=(m_sent_head+j)%MTB_RESEND_MAX;
      if(m_sent[at].sent && m_sent[at].id<=last_id)
         continue;
      ArrayResize(again,n+1,64);
      again[n]=m_sent[at];
      n++;
     }
   m_sent_head=0;
   m_sent_n=0;
   if(n>0)
      PrintFormat("MtBridge: re-sending %d report(s) the daemon has not journaled (ids above %I64u, or never sent)",n,last_id);
   for(int j=0; j<n; j++)
      Emit(again[j]);
  }

//--- once per welcome, before any new report: re-send, then catch up with what happened
//--- while the link was down (the watch paused where it was)
void MtbReporter::CatchUp(void)
  {
   ulong last_id=0;
   if(!m_link.TakeWelcome(last_id))
      return;
   Resend(last_id);
   m_caught_up=m_link.Welcomes();   // the order watch sends its snapshot after these
   LoadQuoteSymbols();
   m_dirty=true;
   m_next_check=0;
   m_catchup=true;
  }

void MtbReporter::ReportOpened(const MtbPosition &p)
  {
   MtbReport r;
   r.kind=MTB_REPORT_OPENED;
   r.p=p;
   r.remaining=0.0;
   r.reason="";
   r.profit=0.0;
   Emit(r);
  }

void MtbReporter::ReportModified(const ulong ticket,const double sl,const double tp,const ulong time,const double swap)
  {
   MtbReport r;
   r.kind=MTB_REPORT_MODIFIED;
   r.p.ticket=ticket;
   r.p.sl=sl;
   r.p.tp=tp;
   r.p.time=time;
   r.p.swap=swap;
   r.remaining=0.0;
   r.reason="";
   r.profit=0.0;
   Emit(r);
  }

void MtbReporter::ReportClosed(const ulong ticket,const double volume,const double remaining,const double price,
                               const ulong time,const string reason,const double profit)
  {
   MtbReport r;
   r.kind=MTB_REPORT_CLOSED;
   r.p.ticket=ticket;
   r.p.volume=volume;
   r.p.price=price;
   r.p.time=time;
   r.remaining=remaining;
   r.reason=reason;
   r.profit=profit;
   Emit(r);
  }

#endif // MTBRIDGE_REPORTER_RESEND_MQH
