// Recipients' passwords: Argon2id (libargon2) hashes in the PHC string
// format, and the strength check at registration and reset (libpwquality
// with the cracklib dictionary: length, character classes, dictionary words,
// the address itself, repeats and sequences).
//
// Unknown addresses cost the same as known ones: VerifyDummy runs one
// Argon2id verification with the same parameters, so the time of a login
// does not say whether the address has an account.
//
// Each Argon2id run takes `memory_kib` of memory, and a login needs no
// account (review R3): at most `concurrency` runs at once (a counting gate);
// a caller that finds the gate full for `wait` gets kResourceExhausted, which
// the pages answer with 503 "try again later".
//
// Threading: thread-safe (libpwquality's cracklib access is serialised).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"

namespace sg::portal {

struct Argon2Params {
  uint32_t time_cost = 3;
  uint32_t memory_kib = 64 * 1024;
  uint32_t parallelism = 1;
};

// A counting semaphore with a bounded wait. Thread-safe.
class WorkGate {
 public:
  WorkGate(size_t capacity, std::chrono::milliseconds wait);
  // True when a slot was taken (release it with Leave); false when none
  // came free within `wait`.
  bool Enter();
  void Leave();

 private:
  const size_t capacity_;
  const std::chrono::milliseconds wait_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t held_ = 0;
};

// 2 x hardware threads (at least 2): the default of portal.argon2_concurrency.
size_t DefaultArgon2Concurrency();

class PasswordHasher {
 public:
  static constexpr std::chrono::milliseconds kBusyWait{2000};
  // concurrency 0: DefaultArgon2Concurrency().
  explicit PasswordHasher(Argon2Params params = {}, size_t concurrency = 0,
                          std::chrono::milliseconds wait = kBusyWait);
  // "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>"; aborts only when
  // libargon2 refuses its own parameters (a bug). kResourceExhausted: busy.
  Result<std::string> Hash(const std::string& password) const;
  // False for a wrong password or a malformed hash. kResourceExhausted: busy.
  Result<bool> Verify(const std::string& encoded, const std::string& password) const;
  Status VerifyDummy(const std::string& password) const;
  // The most Argon2id runs ever in flight at once (tests).
  size_t PeakInFlight() const { return peak_.load(); }

 private:
  // Runs one Argon2id computation, counting it in flight.
  template <typename Fn>
  auto Counted(Fn fn) const;

  Argon2Params params_;
  std::string dummy_;
  mutable WorkGate gate_;
  mutable std::atomic<size_t> running_{0};
  mutable std::atomic<size_t> peak_{0};
};

// Why a password is refused, as a message key the pages translate
// ("password_too_short", "password_dictionary", "password_simple",
// "password_contains_address"); nullopt when it is strong enough.
std::optional<std::string> CheckPasswordStrength(const std::string& password,
                                                 const std::string& address, size_t min_length);

}  // namespace sg::portal
