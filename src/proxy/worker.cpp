#include "proxy/worker.h"

#include <signal.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "proxy/connection.h"
#include "proxy/cpu_placement.h"
#include "proxy/listener.h"

namespace ferry::proxy {

Worker::Worker(size_t index, SharedState& shared) : index_(index), shared_(shared) {}

Worker::~Worker() {
  if (thread_.joinable()) thread_.join();
  close_all(CloseReason::drained);
  listeners_.clear();
}

bool Worker::use_ring(std::string& error) {
  // 256 buffers of 16 KiB: the pool is shared by every connection of the
  // worker and only pages that carried bytes are ever resident.
  net::Ring::Options opts;
  opts.buffers = 256;
  return loop_.use_ring(opts, error);
}

void Worker::drop_ring() {
  loop_.drop_ring();
}

void Worker::apply(std::vector<Binding> bindings) {
  std::vector<std::unique_ptr<ListenerSocket>> next;
  for (Binding& b : bindings) {
    if (b.fd) {
      next.push_back(std::make_unique<ListenerSocket>(*this, b.runtime, std::move(b.fd)));
      continue;
    }
    for (auto& old : listeners_) {
      if (old && old->address() == b.runtime->bind_address) {
        old->update(b.runtime);
        next.push_back(std::move(old));
        break;
      }
    }
  }
  for (auto& old : listeners_) {
    if (old) retire(std::move(old));  // no longer configured
  }
  listeners_ = std::move(next);
}

void Worker::retire(std::unique_ptr<ListenerSocket> l) {
  l.release()->retire();  // deletes itself once nothing refers to it
}

void Worker::start(int cpu, std::function<void()> on_stopped) {
  thread_ = std::thread([this, cpu, on_stopped = std::move(on_stopped)] {
    // Signals go to the control thread's signalfd, never to a worker.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    if (cpu >= 0 && !pin_this_thread(cpu)) {
      log::warn("worker_not_pinned",
                {{"worker", index_}, {"cpu", cpu}, {"error", std::strerror(errno)}});
    }
    loop_.run();
    // Cancelled ring operations complete on the next iterations; their
    // connections are deleted then.
    if (loop_.ring() != nullptr) {
      for (int i = 0; i < 4; ++i) loop_.run_once(0);
    }
    if (on_stopped) on_stopped();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::drain() {
  draining_ = true;
  for (auto& l : listeners_) retire(std::move(l));
  listeners_.clear();
  if (head_ == nullptr) loop_.stop();
}

void Worker::close_all(CloseReason why) {
  while (head_ != nullptr) head_->close(why);  // close() detaches
  loop_.stop();
}

void Worker::attach(Connection* c) {
  c->prev = nullptr;
  c->next = head_;
  if (head_ != nullptr) head_->prev = c;
  head_ = c;
  connections_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::detach(Connection* c) {
  if (c->prev != nullptr) c->prev->next = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  if (head_ == c) head_ = c->next;
  c->prev = c->next = nullptr;
  connections_.fetch_sub(1, std::memory_order_relaxed);
  if (draining_ && head_ == nullptr) loop_.stop();
}

}  // namespace ferry::proxy
