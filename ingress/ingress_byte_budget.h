// The global cap on message bytes held by the ingress (issue 13 point 7):
// content being received, and records handed to the queue until it acks.
// Without it, a thousand connections streaming 50 MB messages at once would
// need 50 GB; with it, a session that finds the budget exhausted discards
// the rest of its content and answers 452 4.3.1, and the client retries.
//
// ByteBudget is the server-wide counter; a session holds what it uses in a
// ByteLease, which grows in steps (kGrain) so the shared counter is touched
// once per quarter megabyte, not per read, and gives everything back when it
// is reset or destroyed (also when a connection dies with an ack pending).
//
// Threading: ByteBudget is thread-safe (one atomic); a ByteLease belongs to
// one session on one loop thread (or to the ack callback it moved into).
// Ownership: the server owns the budget; it outlives every lease.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/metrics.h"

namespace sg::ingress {

class ByteBudget {
 public:
  // capacity 0: no limit. `in_use_gauge` (may be null) follows in_use().
  explicit ByteBudget(uint64_t capacity, metrics::Gauge* in_use_gauge = nullptr)
      : capacity_(capacity), gauge_(in_use_gauge) {}
  bool TryAcquire(uint64_t n);
  void Release(uint64_t n);
  // Whether `n` more bytes would fit now (MAIL FROM ... SIZE=n).
  bool WouldFit(uint64_t n) const;
  uint64_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  uint64_t capacity() const { return capacity_; }

 private:
  void Publish(uint64_t now);

  const uint64_t capacity_;
  metrics::Gauge* gauge_;
  std::atomic<uint64_t> in_use_{0};
};

class ByteLease {
 public:
  static constexpr uint64_t kGrain = 256 * 1024;

  ByteLease() = default;
  explicit ByteLease(ByteBudget* budget) : budget_(budget) {}
  ~ByteLease() { Reset(); }
  ByteLease(ByteLease&& other) noexcept;
  ByteLease& operator=(ByteLease&& other) noexcept;
  ByteLease(const ByteLease&) = delete;
  ByteLease& operator=(const ByteLease&) = delete;

  // Grows the lease to cover `total` bytes. False when the budget cannot
  // give that much (the lease keeps what it had). Always true without a
  // budget.
  bool Cover(uint64_t total);
  // Gives everything back.
  void Reset();
  uint64_t bytes() const { return bytes_; }

 private:
  ByteBudget* budget_ = nullptr;
  uint64_t bytes_ = 0;
};

}  // namespace sg::ingress
