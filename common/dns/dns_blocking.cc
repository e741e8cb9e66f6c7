#include "common/dns/dns_blocking.h"

#include <uv.h>

#include <functional>
#include <optional>

namespace sg::dns {
namespace {

// Runs the query that `start` begins (with the callback it is given) on a
// private loop until it has answered; one implementation for every kind of
// blocking lookup.
template <typename T>
Result<T> RunBlocking(
    const ResolverOptions& options, const std::string& what,
    const std::function<void(CaresResolver&, std::function<void(Result<T>)>)>& start) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return MakeError(ErrorCode::kUnavailable, options.config_key + ": cannot make an event loop");
  }
  std::optional<Result<T>> answer;
  {
    auto resolver = CaresResolver::Create(&loop, options);
    if (!resolver.ok()) {
      uv_loop_close(&loop);
      return resolver.error();
    }
    start(**resolver, [&answer, &loop](Result<T> r) {
      answer.emplace(std::move(r));
      uv_stop(&loop);  // c-ares may keep its socket watched
    });
    if (!answer) uv_run(&loop, UV_RUN_DEFAULT);  // until the query has finished
    (*resolver)->Shutdown();
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // runs the close callbacks
  uv_loop_close(&loop);
  if (!answer) return MakeError(ErrorCode::kUnavailable, what + ": no answer");
  return std::move(*answer);
}

}  // namespace

Result<AuthenticatedAnswer> ResolveAuthenticatedBlocking(const ResolverOptions& options,
                                                         const std::string& name, uint16_t qtype) {
  return RunBlocking<AuthenticatedAnswer>(
      options, "lookup of " + name,
      [&name, qtype](CaresResolver& r, CaresResolver::AuthenticatedCallback done) {
        r.ResolveAuthenticated(name, qtype, std::move(done));
      });
}

Result<std::vector<std::string>> ResolveTxtBlocking(const ResolverOptions& options,
                                                    const std::string& name) {
  return RunBlocking<std::vector<std::string>>(
      options, "TXT lookup of " + name, [&name](CaresResolver& r, CaresResolver::TxtCallback done) {
        r.ResolveTxt(name, std::move(done));
      });
}

}  // namespace sg::dns
