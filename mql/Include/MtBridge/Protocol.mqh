//+------------------------------------------------------------------+
//| MtBridge/Protocol.mqh - wire protocol v1 (docs/protocol.md)      |
//| The one include of the EAs and the self-test; the parts:         |
//| ProtocolSchema (table, structs, envelope), ProtocolReports       |
//| (terminal -> daemon builders), ProtocolCommands (daemon ->       |
//| terminal builders), ProtocolParse (validation and parsing).      |
//| tests/mql checks the table and the key order of every builder.   |
//| One source for MT4 and MT5; `make mql` installs it in both trees.|
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_PROTOCOL_MQH
#define MTBRIDGE_PROTOCOL_MQH

#ifdef __MQL4__
#property strict
#endif

#include "ProtocolSchema.mqh"
#include "ProtocolReports.mqh"
#include "ProtocolCommands.mqh"
#include "ProtocolParse.mqh"

#endif // MTBRIDGE_PROTOCOL_MQH
