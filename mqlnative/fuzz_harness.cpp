// The MQL side of the differential fuzz (mqlnative/fuzz.py): the translated MsgPack.mqh and
// Protocol.mqh, driven like MtbLink::Receive drives them. Input on stdin: frames, each a
// 4-byte big-endian length then the bytes. Output: one line per frame,
//   ACCEPT <builder re-encode hex | -> <codec re-encode hex> <field MtbInbound.unrepresentable names | ->
//   REFUSE <reason>
// The builder re-encode is MtbBuildInbound of the parsed message (the canonical form); the
// codec re-encode is MpEncodeNode of the decoded tree (input key order, canonical widths).
#include "mql/prelude.hpp"
#include "MtBridge/Protocol.mqh"

#include <cstdio>
#include <string>
#include <vector>

static std::string hex_of(MpWriter& w) {
  MqlArray<uchar> bytes;
  int n = w.CopyTo(bytes);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int k = 0; k < n; k++) {
    out.push_back(digits[bytes[k] >> 4]);
    out.push_back(digits[bytes[k] & 15]);
  }
  return out;
}

static std::string one_line(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out.push_back(c < 0x20 ? '?' : (char)c);
  return out;
}

// "<field>: <why>" -> "<field>" (the fuzz checks Python's value of that field)
static std::string unrepresentable_field(const MtbInbound& m) {
  if (m.unrepresentable == "") return "-";
  std::string text = one_line(m.unrepresentable.utf8());
  return text.substr(0, text.find(':'));
}

int main() {
  for (;;) {
    unsigned char head[4];
    if (std::fread(head, 1, 4, stdin) != 4) break;
    size_t n = (size_t(head[0]) << 24) | (size_t(head[1]) << 16) | (size_t(head[2]) << 8) | head[3];
    std::vector<unsigned char> buf(n);
    if (n && std::fread(buf.data(), 1, n, stdin) != n) break;
    if (n > 65536) {   // MtbLink::Receive refuses frames above MTB_MAX_FRAME before parsing
      std::printf("REFUSE frame_too_large\n");
      continue;
    }
    MqlArray<uchar> frame;
    ArrayResize(frame, (int)n);
    for (size_t k = 0; k < n; k++) frame[(int)k] = buf[k];
    MtbInbound m;
    string err;
    if (!MtbParseInbound(frame, (int)n, m, err)) {
      std::printf("REFUSE %s\n", one_line(err.utf8()).c_str());
      continue;
    }
    MpDoc doc;
    doc.Parse(frame, (int)n);
    MpWriter codec, builder;
    bool codec_ok = MpEncodeNode(doc, 0, codec);
    bool built = MtbBuildInbound(builder, m);
    std::printf("ACCEPT %s %s %s\n", built ? hex_of(builder).c_str() : "-",
                codec_ok ? hex_of(codec).c_str() : "-",
                unrepresentable_field(m).c_str());
  }
  return 0;
}
