#include "portal/portal_web_pool.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "common/thread_name.h"

namespace sg::portal {
namespace {

// The connection a worker serves right now.
struct Current {
  ConnectionPool* pool = nullptr;
  bool counted = false;
  std::string ip;
};
thread_local Current current;

}  // namespace

ConnectionPool::ConnectionPool(size_t threads, size_t per_ip) : per_ip_(per_ip) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void ConnectionPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void ConnectionPool::Work() {
  SetCurrentThreadName("sg-portal-http");
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
      // Accepted connections are still served at shutdown (httplib closes
      // them at once once the server stops).
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    current = Current{this, false, {}};
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("portal: connection: exception: {}", e.what());
    } catch (...) {
      spdlog::error("portal: connection: unknown exception");
    }
    if (current.counted) Release(current.ip);
    current = Current{};
  }
}

bool ConnectionPool::Admit(const std::string& ip) {
  if (current.pool == nullptr || current.counted) return true;
  return current.pool->Count(ip);
}

bool ConnectionPool::Count(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t& n = connections_[ip];
  if (per_ip_ != 0 && n >= per_ip_) {
    if (n == 0) connections_.erase(ip);
    return false;
  }
  ++n;
  current.counted = true;
  current.ip = ip;
  return true;
}

void ConnectionPool::Release(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(ip);
  if (it == connections_.end()) return;
  if (--it->second == 0) connections_.erase(it);
}

size_t ConnectionPool::Connections(const std::string& ip) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(ip);
  return it == connections_.end() ? 0 : it->second;
}

}  // namespace sg::portal
