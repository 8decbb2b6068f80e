//+------------------------------------------------------------------+
//| MtBridge/MsgPack.mqh - msgpack encoder and decoder (protocol v1) |
//| One source for MQL4 and MQL5 (`make mql` installs it in both).   |
//| Subset: nil, bool, int up to 64 bits,                            |
//| float32 (decode only), float64, str (UTF-8), array, map.         |
//| The encoder writes the CANONICAL form of docs/protocol.md s.10.  |
//| Doubles are moved bit-exactly through a union, never             |
//| arithmetically.                                                  |
//+------------------------------------------------------------------+
#ifndef MTBRIDGE_MSGPACK_MQH
#define MTBRIDGE_MSGPACK_MQH

#ifdef __MQL4__
#property strict
#endif

#include "MsgPackEncode.mqh"   // MpWriter, bit and hex helpers
#include "MsgPackDecode.mqh"   // MpDoc, MpEncodeNode

#endif // MTBRIDGE_MSGPACK_MQH
