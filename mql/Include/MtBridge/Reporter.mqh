//+------------------------------------------------------------------+
//| MtBridge/Reporter.mqh - reports the account to the daemon:       |
//| hello snapshot, position_opened/_modified/_closed, account_update|
//| and the re-send buffer that welcome.last_id draws on; `quotes`   |
//| of the symbols welcome.quote_symbols asks for (conversion rates).|
//| ReporterResend.mqh: the re-send buffer and the position reports. |
//| MT5 (ReporterMt5.mqh): a watch of the deal history, woken by     |
//| OnTradeTransaction, plus a check of the positions every second.  |
//| MT4 (ReporterMt4.mqh): a diff of the order pool every timer tick.|
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_REPORTER_MQH
#define MTBRIDGE_REPORTER_MQH

#ifdef __MQL4__
#property strict
#endif

#include "Link.mqh"

#define MTB_ACCOUNT_MIN_MS  250     // account_update coalescing interval
#define MTB_CHAIN_MAX       64      // MT4 partial-close chain length limit
#define MTB_RESEND_MAX      1024    // position reports kept for welcome.last_id
#define MTB_RECENT_MAX      256     // MT4: chain roots reported and gone, not to report again
#define MTB_FILL_WAIT_MS    2000    // MT5: wait for an order filled in parts before reporting it
#define MTB_CHECK_MS        1000    // MT5: period of the position check
#define MTB_QUOTE_MS        1000    // a symbol's quote is reported at most this often (when it changed)

#define MTB_REPORT_OPENED   1
#define MTB_REPORT_MODIFIED 2
#define MTB_REPORT_CLOSED   3
//--- pending-order reports (Orders.mqh), kept in the same re-send buffer: one order for all
#define MTB_REPORT_ORDER_PLACED   4
#define MTB_REPORT_ORDER_MODIFIED 5
#define MTB_REPORT_ORDER_REMOVED  6
#define MTB_REPORT_ORDER_FILLED   7

//--- one reported position; `p.ticket` is the ticket the daemon knows (MT5: POSITION_IDENTIFIER,
//--- MT4: the first ticket of a partial-close chain), `live` the ticket the terminal uses now
struct MtbTracked
  {
   MtbPosition       p;
   ulong             live;
   bool              seen;
   int               odd;           // consecutive checks in which the terminal disagrees
  };

//--- one sent position report, kept until a welcome's last_id says the daemon journaled it.
//--- opened: p; modified: p.ticket/sl/tp/time; closed: p.ticket, p.volume (closed), remaining,
//--- p.price, p.time, reason, profit. Orders: p (ticket, symbol, volume, price, sl, tp, time,
//--- magic; filled: side) with order_type, expiration, stoplimit, position; removed: reason
struct MtbReport
  {
   ulong             id;
   bool              sent;            // false: made while the link went down, never had an id
   int               kind;
   MtbPosition       p;
   double            remaining;
   string            reason;
   double            profit;
   string            order_type;
   ulong             expiration;
   double            stoplimit;
   ulong             position;
  };

class MtbReporter
  {
private:
   MtbTracked        m_pos[];
   int               m_n;
   MtbReport         m_sent[];          // ring buffer of MTB_RESEND_MAX
   int               m_sent_head;
   int               m_sent_n;
   ulong             m_sent_dropped;
   MtbLink          *m_link;
   string            m_account_type;
   string            m_role;            // copy-trading role, as on the daemon's allow-list
   bool              m_watching;        // the watch started (first hello of this EA instance)
   bool              m_netting;         // an MT5 netting account (hello.margin_mode, docs/protocol.md)
   bool              m_fresh;           // the next hello restarts the cache from the snapshot
   ulong             m_caught_up;       // the link's welcome count at the last re-send (CatchUp)
   double            m_bal;
   double            m_eq;
   double            m_margin;
   double            m_free;
   long              m_lev;
   ulong             m_acct_at;
   //--- MT5 deal watch
   ulong             m_last_deal;       // highest deal ticket handled
   datetime          m_from;            // server time of that deal: HistorySelect starts there
   bool              m_dirty;           // a DEAL_ADD arrived since the last scan
   ulong             m_next_check;
   ulong             m_wait_deal;       // an opening deal whose order is still being filled
   ulong             m_wait_since;
   ulong             m_missing[];       // positions not in the cache at the last check
   //--- MT4 pool watch
   ulong             m_max_ticket;      // highest order ticket seen
   ulong             m_pending[];       // pending-order tickets at the last pool diff
   int               m_history_total;   // OrdersHistoryTotal() at the last history pass
   bool              m_catchup;         // look for orders opened and closed while not watching
   ulong             m_recent[];        // ring of MTB_RECENT_MAX roots reported and gone
   int               m_recent_next;
   //--- quotes (welcome.quote_symbols that exist in Market Watch)
   string            m_q_sym[];
   double            m_q_bid[];
   double            m_q_ask[];
   ulong             m_q_at[];          // when last reported, 0 = never
   void              LoadQuoteSymbols(void);
   void              QuoteTick(void);
   int               Find(const ulong ticket) const;
   int               FindLive(const ulong live) const;
   void              Add(const MtbPosition &p,const ulong live);
   void              Remove(const int k);
   void              Record(const MtbReport &r);
   void              Emit(MtbReport &r);
   void              Resend(const ulong last_id);
   void              CatchUp(void);
   void              ReportOpened(const MtbPosition &p);
   void              ReportModified(const ulong ticket,const double sl,const double tp,const ulong time,const double swap);
   void              ReportClosed(const ulong ticket,const double volume,const double remaining,const double price,
                                  const ulong time,const string reason,const double profit);
   bool              ReadLive(MtbPosition &out[],ulong &live[]);
   void              StartWatch(void);
#ifdef __MQL5__
   bool              Scan(void);
   int               OnDeal(const ulong deal,const ulong &batch[],bool &used[],const int i);
   int               OpenDeal(const ulong deal,const ulong pos_id,const string symbol,const ulong &batch[],
                              bool &used[],const int i);
   void              CloseDeal(const ulong deal,const ulong pos_id,const string symbol);
   void              Grow(const ulong deal,const int k,const string symbol);
   void              ReportFilled(const ulong order,const MtbPosition &p);
   void              Reverse(const ulong deal,const ulong pos_id,const string symbol);
   void              CheckStops(const ulong ticket);
   void              CheckPositions(void);
   void              ClosedUnseen(const int k);
   bool              WasMissing(const ulong id) const;
#else
   void              Poll(void);
   void              Diff(void);
   void              HistoryCatchUp(void);
   void              FollowChain(const int k,ulong &fresh[]);
   ulong             CloseByRemainder(const ulong closed,const string symbol,const int type,const datetime opened,
                                      const int magic,ulong &fresh[]);
   void              NewTicket(const ulong ticket,ulong &fresh[]);
   bool              ReadOrder(const ulong ticket,MtbPosition &p);
   double            ChainVolume(const ulong first,const string symbol);
   void              Forget(const ulong root);
   bool              Forgotten(const ulong root) const;
#endif
public:
                     MtbReporter(void);
   void              Init(MtbLink *link,const string account_type,const string role);
   bool              SendHello(void);
   void              AccountTick(void);
   void              Watch(void);
   void              ReportOrder(MtbReport &r) { Emit(r); }
   ulong             CaughtUp(void) const { return(m_caught_up); }
   void              Resync(const string why);
   ulong             LiveTicket(const ulong ticket) const;
   ulong             ReportedTicket(const ulong live) const;
#ifdef __MQL5__
   void              OnTransaction(const MqlTradeTransaction &t);
#else
   ulong             RootTicket(const ulong live,string &root_comment);
#endif
  };

MtbReporter::MtbReporter(void)
  {
   m_n=0;
   m_link=NULL;
   m_acct_at=0;
   m_lev=0;
   m_watching=false;
   m_netting=false;
   m_fresh=false;
   m_caught_up=0;
   m_sent_head=0;
   m_sent_n=0;
   m_sent_dropped=0;
   m_last_deal=0;
   m_from=0;
   m_dirty=false;
   m_next_check=0;
   m_wait_deal=0;
   m_wait_since=0;
   m_max_ticket=0;
   m_catchup=false;
   m_history_total=0;
   m_recent_next=0;
   ArrayResize(m_sent,MTB_RESEND_MAX);
   ArrayResize(m_recent,MTB_RECENT_MAX);
   ArrayInitialize(m_recent,0);
  }

void MtbReporter::Init(MtbLink *link,const string account_type,const string role)
  {
   m_link=link;
   m_account_type=account_type;
   m_role=role;
   m_netting=(MtbMarginMode()=="netting");
  }

int MtbReporter::Find(const ulong ticket) const
  {
   for(int k=0; k<m_n; k++)
      if(m_pos[k].p.ticket==ticket)
         return(k);
   return(-1);
  }

int MtbReporter::FindLive(const ulong live) const
  {
   for(int k=0; k<m_n; k++)
      if(m_pos[k].live==live)
         return(k);
   return(-1);
  }

void MtbReporter::Add(const MtbPosition &p,const ulong live)
  {
   ArrayResize(m_pos,m_n+1,64);
   m_pos[m_n].p=p;
   m_pos[m_n].live=live;
   m_pos[m_n].seen=true;
   m_pos[m_n].odd=0;
   m_n++;
  }

void MtbReporter::Remove(const int k)
  {
   for(int j=k; j<m_n-1; j++)
      m_pos[j]=m_pos[j+1];
   m_n--;
   ArrayResize(m_pos,m_n,64);
  }

ulong MtbReporter::ReportedTicket(const ulong live) const
  {
   int k=FindLive(live);
   return(k>=0 ? m_pos[k].p.ticket : live);
  }

//--- the ticket to trade on for a ticket the daemon knows
ulong MtbReporter::LiveTicket(const ulong ticket) const
  {
#ifdef __MQL5__
   ulong now=MtbPositionTicketById(ticket);
   if(now!=0)
      return(now);
#endif
   int k=Find(ticket);
   return(k>=0 ? m_pos[k].live : ticket);
  }

//--- a real inconsistency: a new connection whose hello snapshot restarts the cache
void MtbReporter::Resync(const string why)
  {
   PrintFormat("MtBridge: resynchronising (%s): reconnecting to send a fresh snapshot",why);
   m_fresh=true;
   m_link.Close("resync: "+why);
  }

//+------------------------------------------------------------------+
//| hello, account                                                   |
//+------------------------------------------------------------------+
//--- hello with every open position. The first hello of this EA instance starts the watch at
//--- the snapshot; on a reconnect the cache keeps the last reported state, so what happened
//--- while the link was down is reported after the welcome (protocol section 6.3). A netting
//--- account restarts the watch at every hello instead: its reports are states of the symbol's
//--- position, and one older than the snapshot would move the copies back and forth (an extra
//--- open and close for the investors; docs/protocol.md, "Netting accounts"). The deal
//--- watermark is read before the positions: a deal in between is in the snapshot and reported
//--- once more, a state the daemon has already (it moves nothing).
bool MtbReporter::SendHello(void)
  {
   if(m_watching && m_netting)
     {
      m_fresh=true;
      m_sent_head=0;   // the re-send ring's reports are all older than this hello: the positions
                       // are in its snapshot, the orders in the orders snapshot after the welcome
      m_sent_n=0;
     }
   if(!m_watching || m_netting)
      StartWatch();
   MtbPosition list[];
   ulong live[];
   if(!ReadLive(list,live))
     {
      m_link.Close("cannot read positions");
      return(false);
     }
   if(!m_watching || m_fresh)
     {
      m_n=0;
      ArrayResize(m_pos,0,64);
      for(int k=0; k<ArraySize(list); k++)
         Add(list[k],live[k]);
      m_watching=true;
      m_fresh=false;
     }
#ifdef __MQL5__
   string platform="MT5";
#else
   string platform="MT4";
#endif
   string account_type=(m_account_type!="") ? m_account_type : (platform=="MT5" ? "mt5_standard" : "mt4_standard");
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   m_bal=MtbNormMoney(AccountInfoDouble(ACCOUNT_BALANCE));
   m_eq=MtbNormMoney(AccountInfoDouble(ACCOUNT_EQUITY));
   m_lev=AccountInfoInteger(ACCOUNT_LEVERAGE);
   MtbBuildHello(w,env,m_role,platform,account_type,AccountInfoString(ACCOUNT_CURRENCY),
                 (ulong)m_lev,m_bal,m_eq,list,MtbUtcOffsetMs(),MtbMarginMode());
   m_acct_at=0;
   return(m_link.Send(w,"hello"));
  }

//--- account_update when a figure changed, at most every MTB_ACCOUNT_MIN_MS
void MtbReporter::AccountTick(void)
  {
   if(!m_link.IsUp())
      return;
   ulong now=MtbNowMs();
   if(now<m_acct_at+MTB_ACCOUNT_MIN_MS)
      return;
   double bal=MtbNormMoney(AccountInfoDouble(ACCOUNT_BALANCE));
   double eq=MtbNormMoney(AccountInfoDouble(ACCOUNT_EQUITY));
   double margin=MtbNormMoney(AccountInfoDouble(ACCOUNT_MARGIN));
   double free=MtbNormMoney(AccountInfoDouble(ACCOUNT_MARGIN_FREE));
   long lev=AccountInfoInteger(ACCOUNT_LEVERAGE);
   if(m_acct_at!=0 && bal==m_bal && eq==m_eq && margin==m_margin && free==m_free && lev==m_lev)
      return;
   if(margin<0.0)
      margin=0.0;
   m_bal=bal;
   m_eq=eq;
   m_margin=margin;
   m_free=free;
   m_lev=lev;
   m_acct_at=now;
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   MtbBuildAccountUpdate(w,env,bal,eq,margin,free,(ulong)(lev>0 ? lev : 0));
   m_link.Send(w,"account_update");
  }

//--- every timer tick, on both platforms: catch-up after a welcome, then the platform's watch.
//--- Nothing is reported before the welcome: the watch waits where it stopped.
void MtbReporter::Watch(void)
  {
   MtbUtcOffsetMs();                   // MT4: learns the offset whenever a quote arrives
   if(!m_link.IsUp())
      return;
   CatchUp();
#ifdef __MQL5__
   if(m_dirty)
     {
      m_dirty=false;
      Scan();
     }
   ulong now=MtbNowMs();
   if(now>=m_next_check)
     {
      m_next_check=now+MTB_CHECK_MS;
      if(Scan())
         CheckPositions();
     }
#else
   Poll();
#endif
   QuoteTick();
  }

//+------------------------------------------------------------------+
//| quotes: the daemon's conversion rates (protocol section 5)       |
//+------------------------------------------------------------------+
//--- after a welcome: the symbols it asks for that this terminal has (added to Market Watch)
void MtbReporter::LoadQuoteSymbols(void)
  {
   string asked[];
   int n=m_link.QuoteSymbols(asked);
   ArrayResize(m_q_sym,0);
   int kept=0;
   for(int k=0; k<n && kept<MTB_MAX_QUOTES; k++)
     {
      if(!SymbolSelect(asked[k],true))
        {
         PrintFormat("MtBridge: the daemon asks for quotes of %s, which this trade server does not have (error %d)",
                     asked[k],GetLastError());
         continue;
        }
      ArrayResize(m_q_sym,kept+1);
      m_q_sym[kept]=asked[k];
      kept++;
     }
   ArrayResize(m_q_bid,kept);
   ArrayResize(m_q_ask,kept);
   ArrayResize(m_q_at,kept);
   for(int k=0; k<kept; k++)
     {
      m_q_bid[k]=0.0;
      m_q_ask[k]=0.0;
      m_q_at[k]=0;
     }
  }

//--- every timer tick: one `quotes` frame with each symbol whose quote changed, at most once
//--- per MTB_QUOTE_MS per symbol
void MtbReporter::QuoteTick(void)
  {
   int total=ArraySize(m_q_sym);
   if(total==0 || !m_link.IsUp())
      return;
   ulong now=MtbNowMs();
   MtbQuote quotes[];
   int n=0;
   for(int k=0; k<total; k++)
     {
      if(m_q_at[k]!=0 && now<m_q_at[k]+MTB_QUOTE_MS)
         continue;
      MqlTick t;
      if(!SymbolInfoTick(m_q_sym[k],t))
         continue;
      double bid=MtbNormPrice(m_q_sym[k],t.bid);
      double ask=MtbNormPrice(m_q_sym[k],t.ask);
      if(bid<=0.0 || ask<bid || (bid==m_q_bid[k] && ask==m_q_ask[k]))
         continue;
#ifdef __MQL5__
      ulong server_ms=(ulong)t.time_msc;
#else
      ulong server_ms=(ulong)t.time*1000;
#endif
      m_q_bid[k]=bid;
      m_q_ask[k]=ask;
      m_q_at[k]=now;
      ArrayResize(quotes,n+1,8);
      quotes[n].symbol=m_q_sym[k];
      quotes[n].bid=bid;
      quotes[n].ask=ask;
      quotes[n].time=MtbUtcMs(server_ms);
      n++;
     }
   if(n==0)
      return;
   MtbEnvelope env;
   m_link.NextEnvelope(env);
   MpWriter w;
   if(MtbBuildQuotes(w,env,quotes))
      m_link.Send(w,"quotes");
  }

#include "ReporterResend.mqh"   // the re-send buffer and the position reports

#ifdef __MQL5__
#include "ReporterMt5.mqh"
#else
#include "ReporterMt4.mqh"
#endif

#endif // MTBRIDGE_REPORTER_MQH
