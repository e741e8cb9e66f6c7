#include "ingress/ingress_byte_budget.h"

#include <utility>

namespace sg::ingress {

void ByteBudget::Publish(uint64_t now) {
  if (gauge_ != nullptr) gauge_->Set(static_cast<double>(now));
}

bool ByteBudget::TryAcquire(uint64_t n) {
  if (capacity_ == 0) {
    Publish(in_use_.fetch_add(n, std::memory_order_relaxed) + n);
    return true;
  }
  uint64_t cur = in_use_.load(std::memory_order_relaxed);
  do {
    if (cur + n > capacity_) return false;
  } while (!in_use_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  Publish(cur + n);
  return true;
}

void ByteBudget::Release(uint64_t n) {
  Publish(in_use_.fetch_sub(n, std::memory_order_relaxed) - n);
}

bool ByteBudget::WouldFit(uint64_t n) const { return capacity_ == 0 || in_use() + n <= capacity_; }

ByteLease::ByteLease(ByteLease&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

ByteLease& ByteLease::operator=(ByteLease&& other) noexcept {
  if (this != &other) {
    Reset();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

bool ByteLease::Cover(uint64_t total) {
  if (budget_ == nullptr || total <= bytes_) return true;
  // Round up to the grain, but never ask for more than the exact need when
  // the rounding alone would not fit (the last message may use the rest).
  uint64_t want = (total + kGrain - 1) / kGrain * kGrain - bytes_;
  if (!budget_->TryAcquire(want)) {
    want = total - bytes_;
    if (!budget_->TryAcquire(want)) return false;
  }
  bytes_ += want;
  return true;
}

void ByteLease::Reset() {
  if (budget_ != nullptr && bytes_ > 0) budget_->Release(bytes_);
  bytes_ = 0;
}

}  // namespace sg::ingress
