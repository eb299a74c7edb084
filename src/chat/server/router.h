// Which account is online on which session: one session per account (a new
// login replaces the old one), so a stored envelope finds its recipient.
#pragma once

#include <cstdint>
#include <unordered_map>

namespace ferry::chat::server {

class Session;

class Router {
 public:
  // Returns the session this one replaces (the caller closes it), or nullptr.
  Session* bind(int64_t account_id, Session* session) {
    auto [it, inserted] = online_.try_emplace(account_id, session);
    if (inserted) return nullptr;
    Session* old = it->second;
    it->second = session;
    return old == session ? nullptr : old;
  }
  void unbind(int64_t account_id, Session* session) {
    auto it = online_.find(account_id);
    if (it != online_.end() && it->second == session) online_.erase(it);
  }
  Session* find(int64_t account_id) const {
    auto it = online_.find(account_id);
    return it == online_.end() ? nullptr : it->second;
  }
  size_t online() const { return online_.size(); }

 private:
  std::unordered_map<int64_t, Session*> online_;
};

}  // namespace ferry::chat::server
