//+------------------------------------------------------------------+
//| MtBridge/Instance.mqh - one MtBridge EA per login and terminal.  |
//| Two instances on one login (two charts, or Trader and Investor)  |
//| would share the message-id counter and the journal file but not  |
//| their memory, replace each other's daemon session on every hello |
//| and could run a resent command twice. The lock is a temporary    |
//| terminal global variable (gone when the terminal exits), taken   |
//| atomically with GlobalVariableSetOnCondition.                    |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_INSTANCE_MQH
#define MTBRIDGE_INSTANCE_MQH

#ifdef __MQL4__
#property strict
#endif

#define MTB_LOCK_GLOBAL  "MtBridge.lock."   // + login

class MtbInstanceLock
  {
private:
   string            m_name;
   bool              m_held;
public:
                     MtbInstanceLock(void) { m_name=""; m_held=false; }
                    ~MtbInstanceLock(void) { Release(); }
   bool              Acquire(const string tag,const ulong login);
   void              Release(void);
  };

//--- false (and the reason logged) when another MtBridge EA of this terminal holds the login
bool MtbInstanceLock::Acquire(const string tag,const ulong login)
  {
   m_name=MTB_LOCK_GLOBAL+IntegerToString((long)login);
   //--- creates the variable with value 0 if it does not exist; an existing one is kept
   if(!GlobalVariableTemp(m_name) && !GlobalVariableCheck(m_name))
     {
      PrintFormat("%s: cannot create the instance lock %s, error %d; not starting",tag,m_name,GetLastError());
      return(false);
     }
   //--- 0 -> 1 atomically: exactly one EA of the terminal wins
   if(!GlobalVariableSetOnCondition(m_name,1.0,0.0))
     {
      PrintFormat("%s: another MtBridge EA (trader or investor) already runs for login %I64u in this terminal "
                  "(global variable %s is 1): one EA per login, or the two would share message ids and the "
                  "journal and run resent commands twice. Remove the other EA; after a crashed EA, delete %s "
                  "in Tools -> Global Variables (F3). Not starting.",tag,login,m_name,m_name);
      return(false);
     }
   m_held=true;
   return(true);
  }

void MtbInstanceLock::Release(void)
  {
   if(!m_held)
      return;
   m_held=false;
   if(!GlobalVariableSetOnCondition(m_name,0.0,1.0))
      PrintFormat("MtBridge: releasing the instance lock %s failed, error %d",m_name,GetLastError());
  }

#endif // MTBRIDGE_INSTANCE_MQH
