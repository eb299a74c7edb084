#include "chat/proto/messages.h"

#include <google/protobuf/stubs/logging.h>

#include "common/log.h"

namespace ferry::chat {
namespace {

bool key_ok(const std::string& k) {
  return !k.empty() && k.size() <= kMaxKeyBytes;
}

const char* check_prekeys(const pb::UploadPrekeys& u) {
  if (u.has_signed_prekey()) {
    const auto& s = u.signed_prekey();
    if (!key_ok(s.public_key())) return "bad signed prekey";
    if (s.signature().empty() || s.signature().size() > kMaxSignatureBytes)
      return "bad signed prekey signature";
  }
  if (u.one_time_prekeys_size() > static_cast<int>(kMaxOneTimePrekeysPerUpload))
    return "too many one-time prekeys";
  if (!u.has_signed_prekey() && u.one_time_prekeys_size() == 0) return "empty prekey upload";
  for (const auto& k : u.one_time_prekeys())
    if (!key_ok(k.public_key())) return "bad one-time prekey";
  return nullptr;
}

const char* check_body(const pb::Request& r) {
  switch (r.body_case()) {
    case pb::Request::kRegister:
      if (!valid_username(r.register_().username())) return "bad username";
      if (!key_ok(r.register_().identity_key())) return "bad identity key";
      if (r.register_().signature().empty() ||
          r.register_().signature().size() > kMaxSignatureBytes)
        return "bad registration signature";
      return nullptr;
    case pb::Request::kUploadPrekeys:
      return check_prekeys(r.upload_prekeys());
    case pb::Request::kFetchBundle:
      return valid_username(r.fetch_bundle().username()) ? nullptr : "bad username";
    case pb::Request::kSend:
      if (!valid_username(r.send().recipient())) return "bad recipient";
      if (r.send().content().empty() || r.send().content().size() > kMaxContent)
        return "bad content size";
      if (r.send().recipient_identity().size() > kMaxKeyBytes) return "bad recipient identity";
      return nullptr;
    case pb::Request::kAck:
      if (r.ack().envelope_ids_size() == 0 ||
          r.ack().envelope_ids_size() > static_cast<int>(kMaxAcksPerRequest))
        return "bad ack count";
      return nullptr;
    case pb::Request::kReceive:
    case pb::Request::kPing:
      return nullptr;
    case pb::Request::BODY_NOT_SET:
      break;
  }
  return "no request body";
}

}  // namespace

bool valid_username(std::string_view name) {
  if (name.empty() || name.size() > kMaxUsername) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

Decoded decode_request(std::span<const uint8_t> bytes, pb::Request& out, const char*& why) {
  // ParseFromArray rejects malformed wire data. Unknown fields (a newer
  // client) are kept as bytes by the lite runtime and never looked at.
  if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    why = "undecodable request";
    return Decoded::malformed;
  }
  if (out.id() == 0) {
    why = "request id 0";
    return Decoded::malformed;
  }
  if (out.body_case() == pb::Request::BODY_NOT_SET) {
    why = "no request body";
    return Decoded::malformed;
  }
  if (const char* bad = check_body(out)) {
    why = bad;
    return Decoded::bad_request;
  }
  return Decoded::ok;
}

bool decode_response(std::span<const uint8_t> bytes, pb::Response& out, const char*& why) {
  if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    why = "undecodable response";
    return false;
  }
  if (out.body_case() == pb::Response::BODY_NOT_SET) {
    why = "response without body";
    return false;
  }
  return true;
}

void append_serialized(const google::protobuf::MessageLite& m, std::string& out) {
  size_t at = out.size();
  size_t n = m.ByteSizeLong();
  out.resize(at + n);
  m.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + at));
}

std::string registration_message(std::string_view login_key, std::string_view username) {
  std::string m = "FerryRegister";
  m.push_back('\x01');
  m.append(login_key);
  m.append(username);
  return m;
}

pb::Response make_error(uint64_t id, pb::ErrorCode code, std::string_view message) {
  pb::Response r;
  r.set_id(id);
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_message(std::string(message));
  return r;
}

void route_protobuf_logs() {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel level, const char*, int, const std::string& message) {
        log::write_limited(
            level >= google::protobuf::LOGLEVEL_ERROR ? log::Level::warn : log::Level::debug,
            "protobuf", {{"message", message}}, 1);
      });
}

std::string_view error_code_name(pb::ErrorCode code) {
  switch (code) {
    case pb::BAD_REQUEST:
      return "BAD_REQUEST";
    case pb::NOT_REGISTERED:
      return "NOT_REGISTERED";
    case pb::ALREADY_REGISTERED:
      return "ALREADY_REGISTERED";
    case pb::USERNAME_TAKEN:
      return "USERNAME_TAKEN";
    case pb::UNKNOWN_USER:
      return "UNKNOWN_USER";
    case pb::NO_PREKEYS:
      return "NO_PREKEYS";
    case pb::QUEUE_FULL:
      return "QUEUE_FULL";
    case pb::INTERNAL:
      return "INTERNAL";
    case pb::SHUTTING_DOWN:
      return "SHUTTING_DOWN";
    case pb::IDENTITY_MISMATCH:
      return "IDENTITY_MISMATCH";
    case pb::RATE_LIMITED:
      return "RATE_LIMITED";
    default:
      return "ERROR";
  }
}

}  // namespace ferry::chat
