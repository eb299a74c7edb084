// RatchetSession::serialize / deserialize: the whole session state as bytes,
// for the client's store. Strict on read: exact length, known flags, bounded
// counts. Layout: docs/protocol.md, Part 3, "Session state".
#include <algorithm>

#include "crypto/ratchet.h"

namespace ferry::crypto {
namespace {

constexpr uint8_t kStateFormat = 1;
enum Flag : uint8_t {
  kInitiator = 1 << 0,
  kHasRemote = 1 << 1,
  kHasSend = 1 << 2,
  kHasRecv = 1 << 3,
  kHasPending = 1 << 4,
  kHasAccepted = 1 << 5,
};
constexpr uint8_t kAllFlags = 0x3f;

// Appends to a SecretBytes, so no copy of a key is left in ordinary memory.
struct SecretWriter {
  SecretBytes& out;
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
  }
  void bytes(ByteView v) { out.insert(out.end(), v.begin(), v.end()); }
};

}  // namespace

SecretBytes RatchetSession::serialize() const {
  SecretBytes out;
  out.reserve(256 + 32 * kMaxOldRatchetKeys + skipped_.size() * 68);
  SecretWriter w{out};
  uint8_t flags = (initiator_ ? kInitiator : 0) | (st_.remote ? kHasRemote : 0) |
                  (st_.send ? kHasSend : 0) | (st_.recv ? kHasRecv : 0) |
                  (pending_prekey_ ? kHasPending : 0) | (accepted_prekey_ ? kHasAccepted : 0);
  w.u8(kStateFormat);
  w.u8(flags);
  w.bytes(local_identity_.bytes());
  w.bytes(remote_identity_.bytes());
  w.bytes(st_.root.view());
  w.bytes(view(st_.ratchet.private_key));
  if (st_.remote) w.bytes(*st_.remote);
  if (st_.send) w.bytes(st_.send->view());
  if (st_.recv) w.bytes(st_.recv->view());
  w.u32(st_.send_n);
  w.u32(st_.recv_n);
  w.u32(st_.prev_send_n);
  for (const auto* info : {&pending_prekey_, &accepted_prekey_}) {
    if (!*info) continue;
    w.bytes((*info)->base_key);
    w.u32((*info)->signed_prekey_id);
    w.u8((*info)->one_time_prekey_id ? 1 : 0);
    if ((*info)->one_time_prekey_id) w.u32(*(*info)->one_time_prekey_id);
  }
  w.u8(static_cast<uint8_t>(st_.old_remotes.size()));
  for (const auto& k : st_.old_remotes) w.bytes(k);
  w.u32(static_cast<uint32_t>(skipped_.size()));
  for (const auto& k : skipped_) {
    w.bytes(k.ratchet_key);
    w.u32(k.n);
    w.bytes(k.seed.view());
  }
  return out;
}

Result<RatchetSession> RatchetSession::deserialize(ByteView bytes) {
  const Error bad = make_error(Errc::malformed, "session state is malformed");
  ByteReader r(bytes);
  uint8_t format = 0, flags = 0;
  if (!r.u8(format) || !r.u8(flags)) return bad;
  if (format != kStateFormat) return make_error(Errc::unsupported, "session state format");
  if ((flags & ~kAllFlags) != 0) return bad;
  ByteView local, remote;
  if (!r.take(kKeyLen, local) || !r.take(kKeyLen, remote)) return bad;
  auto li = IdentityPublicKey::from_bytes(local);
  auto ri = IdentityPublicKey::from_bytes(remote);
  if (!li || !ri) return bad;
  RatchetSession s(*li, *ri);
  s.initiator_ = flags & kInitiator;
  ByteView v;
  auto key32 = [&r, &v](Key32& out) {
    if (!r.take(32, v)) return false;
    out.assign(v);
    return true;
  };
  auto pub = [&r, &v](PublicKey& out) {
    if (!r.take(kKeyLen, v)) return false;
    std::copy(v.begin(), v.end(), out.begin());
    return true;
  };
  if (!key32(s.st_.root) || !r.take(32, v)) return bad;
  auto ratchet = dh_keypair_from_private(DhKind::x25519, v);
  if (!ratchet) return bad;
  s.st_.ratchet = std::move(*ratchet);
  if (flags & kHasRemote) {
    PublicKey k;
    if (!pub(k)) return bad;
    s.st_.remote = k;
  }
  for (auto [flag, chain] : {std::pair{kHasSend, &s.st_.send}, std::pair{kHasRecv, &s.st_.recv}}) {
    if (!(flags & flag)) continue;
    Key32 k;
    if (!key32(k)) return bad;
    *chain = k;
  }
  if (!r.u32(s.st_.send_n) || !r.u32(s.st_.recv_n) || !r.u32(s.st_.prev_send_n)) return bad;
  for (auto [flag, info] :
       {std::pair{kHasPending, &s.pending_prekey_}, std::pair{kHasAccepted, &s.accepted_prekey_}}) {
    if (!(flags & flag)) continue;
    PrekeyInfo p;
    uint8_t has_opk = 0;
    if (!pub(p.base_key) || !r.u32(p.signed_prekey_id) || !r.u8(has_opk) || has_opk > 1) return bad;
    if (has_opk) {
      uint32_t id = 0;
      if (!r.u32(id)) return bad;
      p.one_time_prekey_id = id;
    }
    *info = p;
  }
  uint8_t old_count = 0;
  if (!r.u8(old_count) || old_count > kMaxOldRatchetKeys) return bad;
  s.st_.old_remotes.resize(old_count);
  for (auto& k : s.st_.old_remotes) {
    if (!pub(k)) return bad;
  }
  uint32_t count = 0;
  if (!r.u32(count) || count > kMaxSkippedKeys || r.remaining() != size_t{count} * 68) return bad;
  s.skipped_.resize(count);
  for (auto& k : s.skipped_) {
    if (!pub(k.ratchet_key) || !r.u32(k.n) || !key32(k.seed)) return bad;
  }
  if (!r.done()) return bad;
  // A state that cannot be produced by the protocol is refused too.
  if ((flags & kHasRecv) && !(flags & kHasRemote)) return bad;
  if (s.initiator_ && s.accepted_prekey_) return bad;
  if (!s.initiator_ && s.pending_prekey_) return bad;
  return s;
}

}  // namespace ferry::crypto
