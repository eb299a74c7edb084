// Session: what each request does, and the delivery of envelopes.
//
// Delivery is a small state machine per session, so a recipient with a long
// queue never makes the server hold it all in memory:
//   off      no Receive yet
//   loading  a page is being read from the store
//   paging   more is stored than was sent; the next page is read once the
//            client has acknowledged half of the window
//   live     everything stored was sent; new envelopes are pushed as their
//            batch commits, until the window is full (then: paging)
// Store results arrive in the order the store applied them, so an envelope
// committed before a page was read is in that page, and one committed after
// it is pushed live: none is sent twice or skipped.
#include <algorithm>
#include <chrono>

#include "chat/server/server.h"
#include "chat/server/session.h"
#include "chat/server/session_submit.h"
#include "crypto/keys.h"
#include "crypto/prekeys.h"

namespace ferry::chat::server {
namespace {

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

pb::Response answer(uint64_t id) {
  pb::Response r;
  r.set_id(id);
  return r;
}

// The answer to a Send that was not stored.
pb::Response refused_send(uint64_t rid, ServerStore::EnqueueStatus status) {
  using ES = ServerStore::EnqueueStatus;
  switch (status) {
    case ES::identity_mismatch:
      return make_error(rid, pb::IDENTITY_MISMATCH, "the recipient's identity key has changed");
    case ES::queue_full:
      return make_error(rid, pb::QUEUE_FULL, "recipient's queue is full");
    case ES::sender_quota:
      return make_error(rid, pb::QUEUE_FULL, "too much of yours is not yet delivered; try later");
    case ES::storage_full:
      return make_error(rid, pb::QUEUE_FULL, "the server's storage is nearly full");
    case ES::unknown_recipient:
    default:  // (stored and duplicate are not refusals)
      return make_error(rid, pb::UNKNOWN_USER, "no such user");
  }
}

}  // namespace

void Session::handle(pb::Request& request) {
  uint64_t rid = request.id();
  if (request.body_case() == pb::Request::kPing) {
    auto r = answer(rid);
    r.mutable_pong();
    send_response(r);
    return;
  }
  if (request.body_case() == pb::Request::kRegister) {
    handle_register(request);
    return;
  }
  if (!account_) {
    send_response(make_error(rid, pb::NOT_REGISTERED, "register first"));
    return;
  }
  switch (request.body_case()) {
    case pb::Request::kUploadPrekeys:
      handle_upload_prekeys(request);
      break;
    case pb::Request::kFetchBundle:
      handle_fetch_bundle(request);
      break;
    case pb::Request::kSend:
      handle_send(request);
      break;
    case pb::Request::kAck:
      handle_ack(request);
      break;
    case pb::Request::kReceive:
      handle_receive(rid);
      break;
    default:
      break;  // decode_request() let nothing else through
  }
}

void Session::handle_register(pb::Request& request) {
  uint64_t rid = request.id();
  auto& reg = *request.mutable_register_();
  if (account_) {
    if (account_->username == reg.username() && account_->identity_key == reg.identity_key()) {
      auto r = answer(rid);
      r.mutable_registered()->set_username(account_->username);
      send_response(r);
    } else {
      send_response(make_error(rid, pb::ALREADY_REGISTERED, "this login has another account"));
    }
    return;
  }
  auto identity = crypto::IdentityPublicKey::from_bytes(crypto::as_bytes(reg.identity_key()));
  if (!identity ||
      !identity->verify(crypto::as_bytes(registration_message(login_key_, reg.username())),
                        crypto::as_bytes(reg.signature()))) {
    ++server_.stats().bad_requests;
    send_response(make_error(rid, pb::BAD_REQUEST, "identity key or signature refused"));
    return;
  }
  if (!server_.allow_registration(peer_)) {
    send_response(make_error(rid, pb::RATE_LIMITED, "too many registrations from your address"));
    return;
  }
  struct State {
    uint64_t rid;
    std::string login, username, identity;
    int64_t now;
    ServerStore::RegisterResult result;
  };
  submit(
      State{rid,
            login_key_,
            std::move(*reg.mutable_username()),
            std::move(*reg.mutable_identity_key()),
            now_unix_ms(),
            {}},
      [](ServerStore& store, State& st) {
        st.result = store.register_account(st.login, st.username, st.identity, st.now);
      },
      [](Server& server, Session* s, bool committed, State& st) {
        if (!s) return;
        if (!committed) {
          s->send_response(make_error(st.rid, pb::INTERNAL, "storage failed"));
          return;
        }
        using RS = ServerStore::RegisterStatus;
        switch (st.result.status) {
          case RS::created:
          case RS::unchanged: {
            if (st.result.status == RS::created) ++server.stats().registrations;
            if (!s->account_) s->become_account(st.result.account);
            auto r = answer(st.rid);
            r.mutable_registered()->set_username(st.result.account.username);
            s->send_response(r);
            break;
          }
          case RS::login_has_other_name:
            s->send_response(
                make_error(st.rid, pb::ALREADY_REGISTERED, "this login has another account"));
            break;
          case RS::username_taken:
            s->send_response(make_error(st.rid, pb::USERNAME_TAKEN, "username taken"));
            break;
        }
      });
}

void Session::handle_upload_prekeys(pb::Request& request) {
  uint64_t rid = request.id();
  auto& upload = *request.mutable_upload_prekeys();
  auto identity = crypto::IdentityPublicKey::from_bytes(crypto::as_bytes(account_->identity_key));
  bool ok = identity.ok();
  if (ok && upload.has_signed_prekey()) {
    const auto& s = upload.signed_prekey();
    crypto::SignedPrekey spk;
    spk.id = s.id();
    ok = s.public_key().size() == spk.public_key.size() &&
         s.signature().size() == spk.signature.size();
    if (ok) {
      std::copy(s.public_key().begin(), s.public_key().end(), spk.public_key.begin());
      std::copy(s.signature().begin(), s.signature().end(), spk.signature.begin());
      ok = crypto::verify_signed_prekey(*identity, spk).ok();
    }
  }
  for (const auto& k : upload.one_time_prekeys())
    ok = ok && k.public_key().size() == crypto::kKeyLen;
  if (!ok) {
    ++server_.stats().bad_requests;
    send_response(make_error(rid, pb::BAD_REQUEST, "prekey or signature refused"));
    return;
  }
  struct State {
    uint64_t rid;
    int64_t account;
    pb::UploadPrekeys upload;
    uint32_t held = 0;
  };
  submit(
      State{rid, account_->id, std::move(upload)},
      [](ServerStore& store, State& st) { st.held = store.store_prekeys(st.account, st.upload); },
      [](Server&, Session* s, bool committed, State& st) {
        if (!s) return;
        if (!committed) {
          s->send_response(make_error(st.rid, pb::INTERNAL, "storage failed"));
          return;
        }
        auto r = answer(st.rid);
        r.mutable_prekeys_stored()->set_one_time_prekeys(st.held);
        s->send_response(r);
      });
}

void Session::handle_fetch_bundle(pb::Request& request) {
  // Each bundle may carry one of the target's one-time prekeys: without a
  // budget, one account could take them all, and every later first message
  // to that user would go without one (X3DH without DH4).
  if (!server_.allow_bundle_fetch(account_->id)) {
    send_response(
        make_error(request.id(), pb::RATE_LIMITED, "too many prekey bundles fetched; try later"));
    return;
  }
  struct State {
    uint64_t rid;
    std::string username;
    bool one_time;
    ServerStore::BundleResult result;
  };
  std::string& username = *request.mutable_fetch_bundle()->mutable_username();
  const bool one_time = server_.grant_one_time_prekey(account_->id, username);
  submit(
      State{request.id(), std::move(username), one_time, {}},
      [](ServerStore& store, State& st) {
        st.result = store.take_bundle(st.username, st.one_time);
      },
      [](Server& server, Session* s, bool committed, State& st) {
        if (committed && st.result.status == ServerStore::BundleStatus::ok &&
            st.result.remaining < server.options().prekeys_low) {
          if (Session* owner = server.router().find(st.result.owner_id))
            owner->push_prekeys_low(st.result.remaining);
        }
        if (!s) return;
        if (!committed) {
          s->send_response(make_error(st.rid, pb::INTERNAL, "storage failed"));
          return;
        }
        switch (st.result.status) {
          case ServerStore::BundleStatus::ok: {
            ++server.stats().bundles_served;
            auto r = answer(st.rid);
            *r.mutable_bundle() = std::move(st.result.bundle);
            s->send_response(r);
            break;
          }
          case ServerStore::BundleStatus::unknown_user:
            s->send_response(make_error(st.rid, pb::UNKNOWN_USER, "no such user"));
            break;
          case ServerStore::BundleStatus::no_signed_prekey:
            s->send_response(make_error(st.rid, pb::NO_PREKEYS, "user has no prekeys"));
            break;
        }
      });
}

void Session::handle_send(pb::Request& request) {
  auto& send = *request.mutable_send();
  const size_t bytes =
      send.content().size() + send.recipient().size() + send.recipient_identity().size();
  struct State {
    uint64_t rid;
    int64_t sender_id;
    std::string sender, recipient;
    uint64_t client_id;
    std::string content;
    int64_t now;
    std::string expected_identity;
    ServerStore::EnqueueResult result;
  };
  submit(
      State{request.id(),
            account_->id,
            account_->username,
            std::move(*send.mutable_recipient()),
            send.client_id(),
            std::move(*send.mutable_content()),
            now_unix_ms(),
            std::move(*send.mutable_recipient_identity()),
            {}},
      [](ServerStore& store, State& st) {
        st.result = store.enqueue(st.sender_id, st.recipient, st.client_id, st.content, st.now,
                                  st.expected_identity);
      },
      [](Server& server, Session* s, bool committed, State& st) {
        if (!committed) {
          if (s) s->send_response(make_error(st.rid, pb::INTERNAL, "storage failed"));
          return;
        }
        using ES = ServerStore::EnqueueStatus;
        switch (st.result.status) {
          case ES::stored:
          case ES::duplicate: {
            bool dup = st.result.status == ES::duplicate;
            ++(dup ? server.stats().envelopes_duplicate : server.stats().envelopes_stored);
            if (s) {
              auto r = answer(st.rid);
              auto* sent = r.mutable_sent();
              sent->set_envelope_id(static_cast<uint64_t>(st.result.envelope_id));
              sent->set_client_id(st.client_id);
              sent->set_duplicate(dup);
              s->send_response(r);
            }
            // Stored, whether or not the sender is still here: deliver now if
            // the recipient is online.
            if (!dup) {
              if (Session* to = server.router().find(st.result.recipient_id)) {
                to->on_envelope_stored(StoredEnvelope{st.result.envelope_id, std::move(st.sender),
                                                      st.client_id, std::move(st.content), st.now});
              }
            }
            break;
          }
          default:
            if (s) s->send_response(refused_send(st.rid, st.result.status));
            break;
        }
      },
      bytes);
}

void Session::handle_ack(pb::Request& request) {
  const auto& ids = request.ack().envelope_ids();
  for (uint64_t id : ids) in_flight_.erase(static_cast<int64_t>(id));
  maybe_load();
  struct State {
    uint64_t rid;
    int64_t account;
    std::vector<uint64_t> ids;
    size_t deleted = 0;
  };
  submit(
      State{request.id(), account_->id, std::vector<uint64_t>(ids.begin(), ids.end())},
      [](ServerStore& store, State& st) { st.deleted = store.ack(st.account, st.ids); },
      [](Server& server, Session* s, bool committed, State& st) {
        if (committed) server.stats().envelopes_acked += st.deleted;
        if (!s) return;
        if (!committed) {
          s->send_response(make_error(st.rid, pb::INTERNAL, "storage failed"));
          return;
        }
        auto r = answer(st.rid);
        r.mutable_acked();
        s->send_response(r);
      });
}

void Session::handle_receive(uint64_t rid) {
  auto r = answer(rid);
  r.mutable_receiving();
  send_response(r);
  if (delivery_ == Delivery::off) start_load();
}

void Session::start_load() {
  const auto& o = server_.options();
  size_t room = o.delivery_window > in_flight_.size() ? o.delivery_window - in_flight_.size() : 1;
  size_t limit = std::max<size_t>(1, std::min<size_t>(o.page_size, room));
  delivery_ = Delivery::loading;
  struct State {
    int64_t account;
    int64_t after;
    size_t limit;
    std::vector<StoredEnvelope> envelopes;
  };
  submit(
      State{account_->id, last_sent_id_, limit, {}},
      [](ServerStore& store, State& st) {
        st.envelopes = store.load(st.account, st.after, st.limit);
      },
      [](Server&, Session* s, bool committed, State& st) {
        if (s) s->on_loaded(std::move(st.envelopes), st.limit, committed);
      });
}

void Session::on_loaded(std::vector<StoredEnvelope> envelopes, size_t limit, bool committed) {
  if (!committed) {
    delivery_ = Delivery::paging;
    retry_load_at_ms_ = server_.loop().now_ms() + 1000;
    arm_timer();
    return;
  }
  size_t queued = 0;
  while (queued < envelopes.size() && output_has_room()) queue_push(envelopes[queued++]);
  if (queued < envelopes.size()) {
    // The client reads slower than we push: the rest comes in a later page,
    // once it has read (flush() calls maybe_load()).
    delivery_ = Delivery::paging;
    return;
  }
  if (envelopes.size() < limit) {
    delivery_ = Delivery::live;
    // Tell the client its queue is drained, even with nothing to send.
    if (!push_) push_ = std::make_unique<pb::Response>();
    push_->mutable_envelopes();
    mark_dirty();
  } else {
    delivery_ = Delivery::paging;
    maybe_load();
  }
}

void Session::maybe_load() {
  const auto& o = server_.options();
  if (delivery_ == Delivery::paging && retry_load_at_ms_ == 0 &&
      in_flight_.size() <= o.delivery_window / 2 && unsent_output() <= o.max_output / 4)
    start_load();
}

size_t Session::unsent_output() const {
  return out_.size() - out_sent_ + push_bytes_;
}

bool Session::output_has_room() const {
  return unsent_output() < server_.options().max_output / 2;
}

void Session::on_envelope_stored(const StoredEnvelope& envelope) {
  if (closed() || delivery_ != Delivery::live) return;  // a later page will carry it
  if (in_flight_.size() >= server_.options().delivery_window || !output_has_room()) {
    delivery_ = Delivery::paging;
    return;
  }
  queue_push(envelope);
}

void Session::queue_push(const StoredEnvelope& envelope) {
  size_t size = envelope.content.size() + envelope.sender.size() + 40;
  // Keep each push within one Noise message.
  if (push_ && push_bytes_ + size > kMaxPlaintext - 64) encode_push(false);
  if (!push_) {
    push_ = std::make_unique<pb::Response>();
    push_bytes_ = 0;
  }
  auto* e = push_->mutable_envelopes()->add_envelopes();
  e->set_id(static_cast<uint64_t>(envelope.id));
  e->set_sender(envelope.sender);
  e->set_client_id(envelope.client_id);
  e->set_content(envelope.content);
  e->set_stored_at_ms(static_cast<uint64_t>(envelope.stored_at_ms));
  push_bytes_ += size;
  in_flight_.insert(envelope.id);
  last_sent_id_ = std::max(last_sent_id_, envelope.id);
  ++server_.stats().envelopes_pushed;
  mark_dirty();
}

void Session::encode_push(bool drained) {
  if (!push_) return;
  auto push = std::move(push_);
  push_bytes_ = 0;
  push->set_id(0);
  push->mutable_envelopes()->set_drained(drained);
  send_response(*push);
}

void Session::push_prekeys_low(uint32_t remaining) {
  pb::Response r;
  r.set_id(0);
  r.mutable_prekeys_low()->set_remaining(remaining);
  send_response(r);
}

}  // namespace ferry::chat::server
