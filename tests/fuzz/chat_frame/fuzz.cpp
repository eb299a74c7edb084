// libFuzzer target: the server's frame decoder and request decoder, the two
// things every byte from a client goes through.
//
// Input: byte 0 picks the frame limit, byte 1 seeds the chunk sizes, the
// rest is the stream. Checked: the decoder, fed the stream in arbitrary
// chunks, yields exactly the frames a simple reference parse finds, stops at
// the same place with an error, never holds more than one frame; every frame
// goes through decode_request() and decode_response() without crashing, and
// an accepted request survives a serialise/parse round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "chat/proto/messages.h"
#include "chat/wire/frame.h"

namespace {

using ferry::chat::wire::FrameDecoder;

struct Reference {
  std::vector<std::string> frames;
  bool error = false;
};

Reference reference_parse(std::span<const uint8_t> in, size_t max_frame) {
  Reference r;
  size_t pos = 0;
  while (in.size() - pos >= 2) {
    size_t len = (size_t{in[pos]} << 8) | in[pos + 1];
    if (len == 0 || len > max_frame) {
      r.error = true;
      return r;
    }
    if (in.size() - pos - 2 < len) break;
    r.frames.emplace_back(reinterpret_cast<const char*>(in.data() + pos + 2), len);
    pos += 2 + len;
  }
  return r;
}

void check_request(std::span<const uint8_t> frame) {
  ferry::chat::pb::Request req;
  const char* why = "";
  auto d = ferry::chat::decode_request(frame, req, why);
  if (why == nullptr) std::abort();
  if (d == ferry::chat::Decoded::ok) {
    std::string again;
    ferry::chat::append_serialized(req, again);
    ferry::chat::pb::Request back;
    const char* why2 = "";
    if (ferry::chat::decode_request({reinterpret_cast<const uint8_t*>(again.data()), again.size()},
                                    back, why2) != ferry::chat::Decoded::ok)
      std::abort();
  }
  ferry::chat::pb::Response resp;
  (void)ferry::chat::decode_response(frame, resp, why);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const size_t kLimits[] = {16, 255, 1024, 16384, 65535};
  size_t max_frame = kLimits[data[0] % 5];
  uint32_t seed = data[1];
  std::span<const uint8_t> stream(data + 2, size - 2);

  Reference ref = reference_parse(stream, max_frame);
  FrameDecoder decoder(max_frame);
  std::vector<std::string> got;
  bool error = false;
  size_t pos = 0;
  while (pos < stream.size() && !error) {
    seed = seed * 1103515245u + 12345u;
    size_t chunk = 1 + (seed >> 16) % 700;
    auto in = stream.subspan(pos, std::min(chunk, stream.size() - pos));
    pos += in.size();
    for (int guard = 0; guard < 100000; ++guard) {
      auto r = decoder.next(in);
      if (r.status == FrameDecoder::Status::need_more) break;
      if (r.status == FrameDecoder::Status::error) {
        error = true;
        break;
      }
      if (r.frame.empty() || r.frame.size() > max_frame) std::abort();
      got.emplace_back(reinterpret_cast<const char*>(r.frame.data()), r.frame.size());
      check_request(r.frame);
    }
    if (decoder.partial_bytes() > max_frame + 2) std::abort();
  }
  if (error != ref.error || got != ref.frames) std::abort();
  return 0;
}
