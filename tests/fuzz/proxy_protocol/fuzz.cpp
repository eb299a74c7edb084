// libFuzzer target for the PROXY protocol parser. Beyond "never crashes":
//  - `consumed` never exceeds the input;
//  - the verdict depends only on the bytes it needs: a complete header parses
//    the same from its own `consumed` bytes, an incomplete input stays
//    incomplete without its last byte, and an invalid one stays invalid with
//    one more byte;
//  - what parses can be rebuilt: build_v1/build_v2 from the parsed addresses
//    parse back to the same addresses.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "net/proxy_protocol.h"

namespace pp = ferry::net::proxy_protocol;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool same_header(const pp::Header& a, const pp::Header& b) {
  if (a.version != b.version || a.local != b.local || a.source != b.source ||
      a.destination != b.destination || a.tlvs.size() != b.tlvs.size()) {
    return false;
  }
  for (size_t i = 0; i < a.tlvs.size(); ++i) {
    if (a.tlvs[i].type != b.tlvs[i].type || a.tlvs[i].value != b.tlvs[i].value) return false;
  }
  return true;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void check_rebuilds(const pp::Header& h) {
  if (!h.source || !h.destination) {
    check(h.local);
    auto r = pp::parse(bytes(pp::build_v2_local()));
    check(r.status == pp::Status::complete && r.header.local);
    return;
  }
  check(!h.local);
  for (const std::string& built :
       {pp::build_v1(*h.source, *h.destination), pp::build_v2(*h.source, *h.destination)}) {
    auto r = pp::parse(bytes(built));
    check(r.status == pp::Status::complete);
    check(r.consumed == built.size());
    check(r.header.source == h.source && r.header.destination == h.destination);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  const pp::ParseResult r = pp::parse(in);
  check(r.consumed <= size);

  switch (r.status) {
    case pp::Status::complete: {
      check(r.consumed > 0 && r.consumed <= pp::kMaxHeaderSize);
      check(r.header.version == 1 || r.header.version == 2);
      const pp::ParseResult again = pp::parse(in.first(r.consumed));
      check(again.status == pp::Status::complete && again.consumed == r.consumed);
      check(same_header(r.header, again.header));
      // A few strict prefixes of the header: still waiting, never refused.
      for (size_t n : {size_t{0}, size_t{1}, r.consumed / 2, r.consumed - 1}) {
        check(pp::parse(in.first(n)).status == pp::Status::incomplete);
      }
      check_rebuilds(r.header);
      break;
    }
    case pp::Status::incomplete:
      check(r.consumed == 0);
      check(size < pp::kMaxHeaderSize);
      if (size > 0) check(pp::parse(in.first(size - 1)).status == pp::Status::incomplete);
      break;
    case pp::Status::invalid: {
      check(r.consumed == 0);
      check(r.error != nullptr && r.error[0] != '\0');
      std::vector<uint8_t> longer(data, data + size);
      longer.push_back(size > 0 ? data[0] : 0);
      check(pp::parse(longer).status == pp::Status::invalid);
      break;
    }
  }
  return 0;
}
