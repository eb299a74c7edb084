// Glue between bytes and the generated protobuf types (proto/ferry.proto):
// strict decoding with the limits both sides enforce, and small builders.
// A decoded Request is checked here once, so the server's handlers can trust
// every field's shape (not its meaning: "does that user exist" is theirs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ferry.pb.h"

namespace ferry::chat {

// Limits of the schema, shared by client and server (docs/protocol.md (Part 1)).
inline constexpr size_t kMaxUsername = 32;
inline constexpr size_t kMaxKeyBytes = 64;         // any public key field
inline constexpr size_t kMaxSignatureBytes = 128;  // any signature field
inline constexpr size_t kMaxOneTimePrekeysPerUpload = 100;
inline constexpr size_t kMaxAcksPerRequest = 1024;
inline constexpr size_t kMaxContent = 60000;  // fits a frame with the Send around it
// One Noise transport message is a frame; its AEAD tag takes 16 bytes.
inline constexpr size_t kNoiseTagSize = 16;
inline constexpr size_t kMaxPlaintext = 65535 - kNoiseTagSize;

// 1..32 of [a-z0-9_.-], starting with a letter or digit.
bool valid_username(std::string_view name);

// Parses and checks a Request. `malformed` (not protobuf, id 0, no body)
// breaks the protocol: the server closes the connection. `bad_request` is a
// well-formed request with a field out of range: answered with BAD_REQUEST.
// `why` is a static reason in both cases.
enum class Decoded : uint8_t { ok, malformed, bad_request };
Decoded decode_request(std::span<const uint8_t> bytes, pb::Request& out, const char*& why);

// Parses a Response (client side): well-formed protobuf with a body.
bool decode_response(std::span<const uint8_t> bytes, pb::Response& out, const char*& why);

// Serialises any message (appending to `out`).
void append_serialized(const google::protobuf::MessageLite& m, std::string& out);

// What a Register's signature covers:
// "FerryRegister" || 0x01 || login key || username.
std::string registration_message(std::string_view login_key, std::string_view username);

pb::Response make_error(uint64_t id, pb::ErrorCode code, std::string_view message);

// Routes the protobuf library's own log lines (it has a few for malformed
// input) to log::write_limited, so a peer can never flood stderr through it.
void route_protobuf_logs();

// "UNKNOWN_USER" etc., for logs and messages.
std::string_view error_code_name(pb::ErrorCode code);

}  // namespace ferry::chat
