// Session::submit(), shared by session.cpp and session_requests.cpp: a store
// operation whose state travels with it from the loop to the store thread and
// back, and whose completion finds the session again by id.
#pragma once

#include <memory>
#include <utility>

#include "chat/server/server.h"
#include "chat/server/session.h"
#include "chat/server/store_worker.h"

namespace ferry::chat::server {

template <typename State, typename Run, typename Done>
class StatefulOp final : public StoreOp {
 public:
  StatefulOp(State state, Run run, Done done)
      : state_(std::move(state)), run_(std::move(run)), done_(std::move(done)) {}
  void run(ServerStore& store) override { run_(store, state_); }
  void done(bool committed) override { done_(committed, state_); }

 private:
  State state_;
  Run run_;
  Done done_;
};

template <typename State, typename Run, typename Done>
void Session::submit(State state, Run run, Done done, size_t bytes) {
  ++pending_ops_;
  pending_bytes_ += bytes;
  Server* server = &server_;
  uint64_t id = id_;
  auto on_done = [server, id, bytes, done = std::move(done)](bool committed, State& st) mutable {
    Session* s = server->find_session(id);
    if (s) {
      --s->pending_ops_;
      s->pending_bytes_ -= bytes;
    }
    if (!committed) ++server->stats().store_failures;
    done(*server, s, committed, st);
    if (s) s->mark_dirty();
  };
  server_.worker().submit(std::make_unique<StatefulOp<State, Run, decltype(on_done)>>(
      std::move(state), std::move(run), std::move(on_done)));
  update_interest();
}

}  // namespace ferry::chat::server
