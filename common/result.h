// Result<T> and Status: the error type of every fallible call in smimegate.
//
// No exceptions cross an event loop or a queue consumer (CONVENTIONS.md).
// A fallible function returns Result<T> (a value or an Error) or Status
// (Result<void>). Both are [[nodiscard]]: an ignored error is a compile
// error under -Werror. Where ignoring one is right (a best-effort flush at
// shutdown), say so with PermitUncheckedError() (RocksDB's name): explicit
// and searchable, never a bare (void) cast. The shape follows std::expected
// so the type can be swapped for it once the toolchain has C++23.
//
// Misuse is a bug and aborts in every build type: value() on an error, and
// error() on a success.
//
// Threading: plain values, no shared state.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace sg {

// What went wrong, coarse enough to branch on. The message says the rest.
enum class ErrorCode {
  kInvalidArgument,   // caller or input is malformed (bad config, bad MIME, bad CMS...)
  kNotFound,          // the named thing does not exist
  kAlreadyExists,     // create of something that exists
  kPermissionDenied,  // policy or credentials refuse it
  kUnavailable,       // a dependency is down; retrying later may work
  kTimeout,           // a deadline passed; retrying later may work
  kResourceExhausted, // a limit was reached (size, count, memory)
  kIoError,           // the OS refused a read, write or sync
  kCorruption,        // stored or received data failed an integrity check
  kUnsupported,       // valid input we do not handle (unknown algorithm...)
  kCancelled,         // shut down before completion
  kInternal,          // a bug: an invariant did not hold
};

std::string_view ErrorCodeName(ErrorCode code);

// True for errors where the same request may succeed later (4xx in SMTP terms).
inline bool IsTransient(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout ||
         code == ErrorCode::kIoError || code == ErrorCode::kResourceExhausted;
}

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "invalid_argument: config ingress.listeners[1].tls.cert: file /x not found"
  std::string ToString() const;
};

inline Error MakeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  // Not for Result<bool>: `if (r)` there reads like the value but tests only
  // for "no error" (a password check once passed on a wrong password that
  // way). Write r.ok() and *r explicitly.
  explicit operator bool() const
    requires(!std::is_same_v<T, bool>)
  {
    return ok();
  }

  T& value() & { return Checked(), std::get<0>(v_); }
  const T& value() const& { return Checked(), std::get<0>(v_); }
  T&& value() && { return Checked(), std::move(std::get<0>(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return CheckedError(), std::get<1>(v_); }
  Error&& error() && { return CheckedError(), std::get<1>(std::move(v_)); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  // Ignores the outcome on purpose; the one way to drop a Result unread.
  void PermitUncheckedError() const {}

 private:
  void Checked() const {
    if (!ok()) std::abort();  // using a value that is not there is a bug
  }
  void CheckedError() const {
    if (ok()) std::abort();  // reading the error of a success is a bug
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return CheckedError(), error_; }
  Error&& error() && { return CheckedError(), std::move(error_); }

  // Ignores the outcome on purpose; the one way to drop a Status unread.
  void PermitUncheckedError() const {}

 private:
  void CheckedError() const {
    if (ok_) std::abort();  // reading the error of a success is a bug
  }
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status OkStatus() { return Status(); }

}  // namespace sg

// Propagates an error from an expression returning Status / Result<T>.
#define SG_RETURN_IF_ERROR(expr)                             \
  do {                                                       \
    auto sg_status_ = (expr);                                \
    if (!sg_status_.ok()) return std::move(sg_status_).error(); \
  } while (0)

#define SG_CONCAT_INNER_(a, b) a##b
#define SG_CONCAT_(a, b) SG_CONCAT_INNER_(a, b)
// SG_ASSIGN_OR_RETURN(auto x, Foo()); declares x from a Result or returns its error.
#define SG_ASSIGN_OR_RETURN(decl, expr)                                   \
  auto SG_CONCAT_(sg_result_, __LINE__) = (expr);                         \
  if (!SG_CONCAT_(sg_result_, __LINE__).ok())                             \
    return std::move(SG_CONCAT_(sg_result_, __LINE__)).error();           \
  decl = std::move(SG_CONCAT_(sg_result_, __LINE__)).value()
