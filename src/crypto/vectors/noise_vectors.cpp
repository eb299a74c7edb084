#include "crypto/vectors/noise_vectors.h"

#include <map>

#include "crypto/noise/handshake_state.h"
#include "crypto/noise/protocol.h"
#include "crypto/vectors/json.h"

namespace ferry::crypto::vectors {
namespace {

using json::Value;
using noise::CipherState;
using noise::HandshakeConfig;
using noise::HandshakeState;
using noise::Protocol;
using noise::Role;

Result<Bytes> hex_field(const Value& v) {
  if (!v.is(Value::Type::string)) return make_error(Errc::malformed, "hex field is not a string");
  auto b = from_hex(v.string);
  if (!b) return make_error(Errc::malformed, "hex field is not hex");
  return std::move(*b);
}

Result<void> optional_hex(const Value& obj, std::string_view key, std::optional<Bytes>& out) {
  const Value* v = obj.find(key);
  if (v == nullptr) return {};
  auto b = hex_field(*v);
  if (!b) return b.error();
  out = std::move(*b);
  return {};
}

Result<void> psk_field(const Value& obj, std::string_view list_key, std::string_view single_key,
                       std::vector<Bytes>& out) {
  if (const Value* list = obj.find(list_key)) {
    if (!list->is(Value::Type::array))
      return make_error(Errc::malformed, "psk list is not an array");
    for (const Value& item : list->array) {
      auto b = hex_field(item);
      if (!b) return b.error();
      out.push_back(std::move(*b));
    }
  }
  if (const Value* single = obj.find(single_key)) {
    auto b = hex_field(*single);
    if (!b) return b.error();
    out.push_back(std::move(*b));
  }
  return {};
}

Result<NoiseVector> parse_vector(const Value& obj) {
  if (!obj.is(Value::Type::object)) return make_error(Errc::malformed, "vector is not an object");
  NoiseVector v;
  const Value* name = obj.find("protocol_name");
  if (name == nullptr) name = obj.find("name");
  if (name == nullptr || !name->is(Value::Type::string)) {
    return make_error(Errc::malformed, "vector has no protocol name");
  }
  v.protocol_name = name->string;
  if (const Value* fb = obj.find("fallback")) {
    if (!fb->is(Value::Type::boolean))
      return make_error(Errc::malformed, "fallback is not a boolean");
    v.fallback = fb->boolean;
  }
  if (const Value* pattern = obj.find("pattern")) {
    if (!pattern->is(Value::Type::string))
      return make_error(Errc::malformed, "pattern is not a string");
    v.initial_pattern = pattern->string;
  }
  std::optional<Bytes> ip, rp;
  for (auto r : {optional_hex(obj, "init_prologue", ip), optional_hex(obj, "resp_prologue", rp),
                 optional_hex(obj, "init_static", v.init_static),
                 optional_hex(obj, "init_ephemeral", v.init_ephemeral),
                 optional_hex(obj, "init_remote_static", v.init_remote_static),
                 optional_hex(obj, "resp_static", v.resp_static),
                 optional_hex(obj, "resp_ephemeral", v.resp_ephemeral),
                 optional_hex(obj, "resp_remote_static", v.resp_remote_static),
                 optional_hex(obj, "handshake_hash", v.handshake_hash),
                 psk_field(obj, "init_psks", "init_psk", v.init_psks),
                 psk_field(obj, "resp_psks", "resp_psk", v.resp_psks)}) {
    if (!r) return r.error();
  }
  if (ip) v.init_prologue = std::move(*ip);
  if (rp) v.resp_prologue = std::move(*rp);
  const Value* messages = obj.find("messages");
  if (messages == nullptr || !messages->is(Value::Type::array)) {
    return make_error(Errc::malformed, "vector has no messages array");
  }
  for (const Value& m : messages->array) {
    const Value* payload = m.find("payload");
    const Value* ciphertext = m.find("ciphertext");
    if (payload == nullptr || ciphertext == nullptr) {
      return make_error(Errc::malformed, "message needs payload and ciphertext");
    }
    auto p = hex_field(*payload);
    auto c = hex_field(*ciphertext);
    if (!p) return p.error();
    if (!c) return c.error();
    v.messages.push_back({std::move(*p), std::move(*c)});
  }
  return v;
}

VectorReport failed(std::string detail) {
  return {VectorOutcome::failed, std::move(detail)};
}

std::string describe(const Error& e) {
  return std::string(to_string(e.code)) + ": " + std::string(e.detail);
}

struct Party {
  std::optional<Bytes> s, e, rs;
  Bytes prologue;
  std::vector<Bytes> psks;
};

Result<HandshakeConfig> config_for(const Protocol& protocol, const Party& p, Role role) {
  HandshakeConfig c;
  c.role = role;
  c.prologue = p.prologue;
  if (p.s) {
    auto kp = dh_keypair_from_private(protocol.dh, *p.s);
    if (!kp) return kp.error();
    c.s = std::move(*kp);
  }
  if (p.e) {
    auto kp = dh_keypair_from_private(protocol.dh, *p.e);
    if (!kp) return kp.error();
    c.e = std::move(*kp);
  }
  c.rs = p.rs;
  for (const Bytes& psk : p.psks) c.psks.push_back(to_secret(psk));
  return c;
}

std::string at(size_t i, std::string_view what) {
  return "message " + std::to_string(i) + ": " + std::string(what);
}

// Sends message i from `sender` to `receiver` and checks both ends.
std::optional<std::string> handshake_step(HandshakeState& sender, HandshakeState& receiver,
                                          const NoiseVectorMessage& m, size_t i) {
  auto ct = sender.write_message(m.payload);
  if (!ct) return at(i, "write failed, " + describe(ct.error()));
  if (*ct != m.ciphertext) return at(i, "handshake ciphertext differs");
  auto pt = receiver.read_message(*ct);
  if (!pt) return at(i, "read failed, " + describe(pt.error()));
  if (*pt != m.payload) return at(i, "handshake payload differs");
  return std::nullopt;
}

// Plays the transport messages from index `first`; `init` and `resp` are
// the two parties' transport states, `init_sends_even` says who sends at
// even indexes.
std::optional<std::string> transport(const NoiseVector& v, size_t first, noise::Transport& init,
                                     noise::Transport& resp, bool one_way, bool init_sends_even) {
  for (size_t i = first; i < v.messages.size(); ++i) {
    bool from_init = one_way || ((i % 2 == 0) == init_sends_even);
    CipherState& send = from_init ? init.send : resp.send;
    CipherState& recv = from_init ? resp.recv : init.recv;
    auto ct = send.encrypt(v.messages[i].payload);
    if (!ct) return at(i, "transport encrypt failed, " + describe(ct.error()));
    if (*ct != v.messages[i].ciphertext) return at(i, "transport ciphertext differs");
    auto pt = recv.decrypt(*ct);
    if (!pt) return at(i, "transport decrypt failed, " + describe(pt.error()));
    if (*pt != v.messages[i].payload) return at(i, "transport payload differs");
  }
  return std::nullopt;
}

std::optional<std::string> check_hash(const NoiseVector& v, const HandshakeState& a,
                                      const HandshakeState& b) {
  if (!ct_equal(a.handshake_hash(), b.handshake_hash())) return "the two handshake hashes differ";
  if (v.handshake_hash && !ct_equal(a.handshake_hash(), *v.handshake_hash)) {
    return "handshake hash differs from the vector";
  }
  return std::nullopt;
}

VectorReport run_simple(const NoiseVector& v, const Protocol& protocol, const Party& ip,
                        const Party& rp) {
  auto ic = config_for(protocol, ip, Role::initiator);
  auto rc = config_for(protocol, rp, Role::responder);
  if (!ic) return failed("initiator keys: " + describe(ic.error()));
  if (!rc) return failed("responder keys: " + describe(rc.error()));
  auto init = HandshakeState::create(protocol, std::move(*ic));
  auto resp = HandshakeState::create(protocol, std::move(*rc));
  if (!init) return failed("initiator: " + describe(init.error()));
  if (!resp) return failed("responder: " + describe(resp.error()));
  const bool one_way = protocol.pattern.one_way();
  size_t i = 0;
  for (; i < v.messages.size() && !(init->is_complete() && resp->is_complete()); ++i) {
    bool from_init = i % 2 == 0;
    auto problem = from_init ? handshake_step(*init, *resp, v.messages[i], i)
                             : handshake_step(*resp, *init, v.messages[i], i);
    if (problem) return failed(*problem);
  }
  if (!init->is_complete() || !resp->is_complete()) return failed("vector ends mid-handshake");
  if (auto problem = check_hash(v, *init, *resp)) return failed(*problem);
  auto ti = init->split();
  auto tr = resp->split();
  if (!ti || !tr) return failed("split failed");
  if (auto problem = transport(v, i, *ti, *tr, one_way, true)) return failed(*problem);
  return {VectorOutcome::passed, ""};
}

// noise-c's fallback vectors: Alice starts `initial_pattern` (IK), Bob cannot
// read message 0, and Bob starts XXfallback as initiator with Alice's
// ephemeral as pre-message. Messages keep alternating Alice, Bob, Alice...
VectorReport run_fallback(const NoiseVector& v, const Protocol& final_protocol, const Party& ip,
                          const Party& rp) {
  auto initial = noise::with_pattern(final_protocol, v.initial_pattern);
  if (!initial) return failed("initial pattern: " + describe(initial.error()));
  if (v.messages.empty()) return failed("fallback vector without messages");
  auto ic = config_for(*initial, ip, Role::initiator);
  Party bob_first = rp;
  bob_first.e.reset();
  auto rc = config_for(*initial, bob_first, Role::responder);
  if (!ic || !rc) return failed("initial keys rejected");
  auto alice = HandshakeState::create(*initial, std::move(*ic));
  auto bob = HandshakeState::create(*initial, std::move(*rc));
  if (!alice) return failed("initial initiator: " + describe(alice.error()));
  if (!bob) return failed("initial responder: " + describe(bob.error()));
  auto m0 = alice->write_message(v.messages[0].payload);
  if (!m0) return failed(at(0, "write failed, " + describe(m0.error())));
  if (*m0 != v.messages[0].ciphertext) return failed(at(0, "initial ciphertext differs"));
  if (bob->read_message(*m0)) return failed(at(0, "the responder read a message it should not"));
  if (!bob->remote_ephemeral()) return failed(at(0, "the responder did not keep the ephemeral"));

  auto bc = config_for(final_protocol, rp, Role::initiator);
  Party alice_next = ip;
  alice_next.rs.reset();
  auto ac = config_for(final_protocol, alice_next, Role::responder);
  if (!bc || !ac) return failed("fallback keys rejected");
  bc->re = Bytes(bob->remote_ephemeral()->begin(), bob->remote_ephemeral()->end());
  auto bob2 = HandshakeState::create(final_protocol, std::move(*bc));
  auto alice2 = HandshakeState::create(final_protocol, std::move(*ac));
  if (!bob2) return failed("fallback initiator: " + describe(bob2.error()));
  if (!alice2) return failed("fallback responder: " + describe(alice2.error()));
  size_t i = 1;
  for (; i < v.messages.size() && !(bob2->is_complete() && alice2->is_complete()); ++i) {
    bool from_bob = i % 2 == 1;
    auto problem = from_bob ? handshake_step(*bob2, *alice2, v.messages[i], i)
                            : handshake_step(*alice2, *bob2, v.messages[i], i);
    if (problem) return failed(*problem);
  }
  if (!bob2->is_complete() || !alice2->is_complete()) return failed("vector ends mid-handshake");
  if (auto problem = check_hash(v, *bob2, *alice2)) return failed(*problem);
  auto tb = bob2->split();
  auto ta = alice2->split();
  if (!tb || !ta) return failed("split failed");
  // Bob (the XXfallback initiator) sends at odd indexes.
  if (auto problem = transport(v, i, *tb, *ta, false, false)) return failed(*problem);
  return {VectorOutcome::passed, ""};
}

}  // namespace

Result<std::vector<NoiseVector>> parse_noise_vectors(std::string_view json_text) {
  auto doc = json::parse(json_text);
  if (!doc) return doc.error();
  const Value* list = doc->find("vectors");
  if (list == nullptr || !list->is(Value::Type::array)) {
    return make_error(Errc::malformed, "no \"vectors\" array");
  }
  std::vector<NoiseVector> out;
  for (const Value& item : list->array) {
    auto v = parse_vector(item);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return out;
}

VectorReport run_noise_vector(const NoiseVector& v) {
  auto protocol = noise::parse_protocol(v.protocol_name);
  if (!protocol) {
    if (protocol.code() == Errc::unsupported)
      return {VectorOutcome::skipped, describe(protocol.error())};
    return failed("protocol name: " + describe(protocol.error()));
  }
  Party ip{v.init_static, v.init_ephemeral, v.init_remote_static, v.init_prologue, v.init_psks};
  Party rp{v.resp_static, v.resp_ephemeral, v.resp_remote_static, v.resp_prologue, v.resp_psks};
  if (v.fallback) return run_fallback(v, *protocol, ip, rp);
  return run_simple(v, *protocol, ip, rp);
}

std::vector<ProtocolTally> run_noise_vectors(const std::vector<NoiseVector>& vectors) {
  std::vector<ProtocolTally> tallies;
  std::map<std::string, size_t> index;
  for (const NoiseVector& v : vectors) {
    auto [it, inserted] = index.try_emplace(v.protocol_name, tallies.size());
    if (inserted) tallies.push_back({v.protocol_name, 0, 0, 0, ""});
    ProtocolTally& t = tallies[it->second];
    VectorReport r = run_noise_vector(v);
    switch (r.outcome) {
      case VectorOutcome::passed:
        ++t.passed;
        break;
      case VectorOutcome::failed:
        ++t.failed;
        break;
      case VectorOutcome::skipped:
        ++t.skipped;
        break;
    }
    if (r.outcome != VectorOutcome::passed && t.first_problem.empty()) t.first_problem = r.detail;
  }
  return tallies;
}

}  // namespace ferry::crypto::vectors
