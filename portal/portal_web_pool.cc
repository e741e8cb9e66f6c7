#include "portal/portal_web_pool.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "common/cidr.h"
#include "common/thread_name.h"

namespace sg::portal {
namespace {

// The connection a worker serves right now.
struct Current {
  ConnectionPool* pool = nullptr;
  bool counted = false;
  std::string key;  // sg::ClientKey of the client's address
};
thread_local Current current;

}  // namespace

ConnectionPool::ConnectionPool(size_t threads, size_t per_ip)
    : per_ip_(per_ip), threads_count_(threads) {
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
      ++busy_;
    }
    current = Current{this, false, {}};
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("portal: connection: exception: {}", e.what());
    } catch (...) {
      spdlog::error("portal: connection: unknown exception");
    }
    Release(current.counted ? current.key : std::string());
    current = Current{};
  }
}

bool ConnectionPool::Admit(const std::string& ip) {
  if (current.pool == nullptr || current.counted) return true;
  return current.pool->Count(ip);
}

bool ConnectionPool::Count(const std::string& ip) {
  std::string key = ClientKey(ip, 64);
  std::lock_guard<std::mutex> lock(mu_);
  const bool pressure = busy_ * 2 > threads_count_;
  auto it = connections_.find(key);
  const size_t held = it == connections_.end() ? 0 : it->second;
  if (per_ip_ != 0 && held >= per_ip_ && pressure) return false;
  if (it == connections_.end()) it = connections_.emplace(key, 0).first;
  ++it->second;
  current.counted = true;
  current.key = std::move(key);
  return true;
}

// The worker's connection ended: it is no longer busy, and its client's
// count (`key`, empty when it was never counted) goes down.
void ConnectionPool::Release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  --busy_;
  if (key.empty()) return;
  auto it = connections_.find(key);
  if (it == connections_.end()) return;
  if (--it->second == 0) connections_.erase(it);
}

size_t ConnectionPool::Connections(const std::string& ip) const {
  const std::string key = ClientKey(ip, 64);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(key);
  return it == connections_.end() ? 0 : it->second;
}

size_t ConnectionPool::Busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

}  // namespace sg::portal
