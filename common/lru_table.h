// LruTable: a map with least-recently-used order and a bound, for the
// per-client tables of brute-force and rate limits (the portal's login
// limiter, portal/portal_limiter.h; the admin REST API's limit on requests
// without a valid token, admin/admin_client_limit.h). Touch() and the
// eviction of the least recently used entry are O(1).
//
// Threading: not thread-safe; the owner serialises calls.
#pragma once

#include <cstddef>
#include <iterator>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

namespace sg {

// A map with least-recently-used order: Touch() finds or makes an entry and
// moves it to the front; EvictOver() drops entries from the back while the
// map is larger than `max`, skipping (moving to the front) those `keep`
// says must stay, at most `max_skips` per call so that a call stays O(1).
template <typename V>
class LruTable {
 public:
  V& Touch(const std::string& key) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    order_.emplace_front(key, V{});
    index_.emplace(key, order_.begin());
    return order_.front().second;
  }
  V* Find(const std::string& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }
  template <typename Keep>
  void EvictOver(size_t max, Keep keep, size_t max_skips = 8) {
    size_t skips = 0;
    while (order_.size() > max && !order_.empty()) {
      auto last = std::prev(order_.end());
      if (keep(last->second)) {
        if (++skips > max_skips) return;
        order_.splice(order_.begin(), order_, last);
        continue;
      }
      index_.erase(last->first);
      order_.pop_back();
    }
  }
  size_t size() const { return order_.size(); }

 private:
  std::list<std::pair<std::string, V>> order_;  // front: most recently used
  std::unordered_map<std::string, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

}  // namespace sg
