#include "portal/portal_password.h"

#include <argon2.h>
#include <pwquality.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "common/cpu_quota.h"
#include "common/ascii.h"
#include "portal/portal_crypto.h"

namespace sg::portal {
namespace {

constexpr uint32_t kSaltLen = 16;
constexpr uint32_t kHashLen = 32;

std::string Encode(const Argon2Params& p, const std::string& password) {
  const std::string salt = RandomBytes(kSaltLen);
  std::string out(argon2_encodedlen(p.time_cost, p.memory_kib, p.parallelism, kSaltLen, kHashLen,
                                    Argon2_id),
                  '\0');
  int rc = argon2id_hash_encoded(p.time_cost, p.memory_kib, p.parallelism, password.data(),
                                 password.size(), salt.data(), salt.size(), kHashLen, out.data(),
                                 out.size());
  if (rc != ARGON2_OK) std::abort();  // our own parameters refused: a bug
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

Error Busy() {
  return Error{ErrorCode::kResourceExhausted, "portal: password checks busy, try again"};
}

// Holds one slot of the gate for a scope.
class Slot {
 public:
  explicit Slot(WorkGate& gate) : gate_(gate), held_(gate.Enter()) {}
  ~Slot() {
    if (held_) gate_.Leave();
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  bool held() const { return held_; }

 private:
  WorkGate& gate_;
  bool held_;
};

}  // namespace

WorkGate::WorkGate(size_t capacity, std::chrono::milliseconds wait)
    : capacity_(capacity == 0 ? 1 : capacity), wait_(wait) {}

bool WorkGate::Enter() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, wait_, [this] { return held_ < capacity_; })) return false;
  ++held_;
  return true;
}

void WorkGate::Leave() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --held_;
  }
  cv_.notify_one();
}

size_t DefaultArgon2Concurrency() {
  // Two per CPU the process may use (its cgroup quota, not the node's cores).
  return std::max<size_t>(2, 2 * static_cast<size_t>(AvailableCpus()));
}

PasswordHasher::PasswordHasher(Argon2Params params, size_t concurrency,
                               std::chrono::milliseconds wait)
    : params_(params),
      dummy_(Encode(params, "no account has this password")),
      gate_(concurrency == 0 ? DefaultArgon2Concurrency() : concurrency, wait) {}

template <typename Fn>
auto PasswordHasher::Counted(Fn fn) const {
  const size_t now = ++running_;
  size_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
  auto result = fn();
  --running_;
  return result;
}

Result<std::string> PasswordHasher::Hash(const std::string& password) const {
  Slot slot(gate_);
  if (!slot.held()) return Busy();
  return Counted([&] { return Encode(params_, password); });
}

Result<bool> PasswordHasher::Verify(const std::string& encoded,
                                    const std::string& password) const {
  if (!encoded.starts_with("$argon2id$")) return false;
  Slot slot(gate_);
  if (!slot.held()) return Busy();
  return Counted([&] {
    return argon2_verify(encoded.c_str(), password.data(), password.size(), Argon2_id) ==
           ARGON2_OK;
  });
}

Status PasswordHasher::VerifyDummy(const std::string& password) const {
  // The result is meaningless: only the time counts.
  auto ok = Verify(dummy_, password);
  if (!ok.ok()) return ok.error();
  return OkStatus();
}

std::optional<std::string> CheckPasswordStrength(const std::string& password,
                                                 const std::string& address, size_t min_length) {
  if (password.size() < min_length) return "password_too_short";
  const std::string local = AsciiLower(address.substr(0, address.find('@')));
  if (local.size() >= 3 && AsciiLower(password).find(local) != std::string::npos) {
    return "password_contains_address";
  }
  static std::mutex mu;  // cracklib keeps state between calls
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<pwquality_settings_t, decltype(&pwquality_free_settings)> settings(
      pwquality_default_settings(), pwquality_free_settings);
  if (!settings) std::abort();
  // Our own settings, never /etc/security/pwquality.conf: the portal's rule
  // does not change with the host it runs on.
  pwquality_set_int_value(settings.get(), PWQ_SETTING_MIN_LENGTH, static_cast<int>(min_length));
  pwquality_set_int_value(settings.get(), PWQ_SETTING_DICT_CHECK, 1);
  pwquality_set_int_value(settings.get(), PWQ_SETTING_USER_CHECK, 1);
  pwquality_set_int_value(settings.get(), PWQ_SETTING_MAX_REPEAT, 4);
  pwquality_set_int_value(settings.get(), PWQ_SETTING_MAX_SEQUENCE, 5);
  // Short passwords need three kinds of characters; long passphrases do not.
  pwquality_set_int_value(settings.get(), PWQ_SETTING_MIN_CLASS, password.size() >= 16 ? 1 : 3);
  int score = pwquality_check(settings.get(), password.c_str(), nullptr, local.c_str(), nullptr);
  if (score >= 0) return std::nullopt;
  switch (score) {
    case PWQ_ERROR_MIN_LENGTH: return "password_too_short";
    case PWQ_ERROR_CRACKLIB_CHECK:
    case PWQ_ERROR_BAD_WORDS:
    case PWQ_ERROR_PALINDROME:
    case PWQ_ERROR_ROTATED: return "password_dictionary";
    case PWQ_ERROR_USER_CHECK:
    case PWQ_ERROR_GECOS_CHECK: return "password_contains_address";
    default: return "password_simple";
  }
}

}  // namespace sg::portal
