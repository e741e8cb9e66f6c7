#include "common/dns/dns_blocking.h"

#include <uv.h>

#include <optional>

namespace sg::dns {

Result<AuthenticatedAnswer> ResolveAuthenticatedBlocking(const ResolverOptions& options,
                                                         const std::string& name, uint16_t qtype) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return MakeError(ErrorCode::kUnavailable, options.config_key + ": cannot make an event loop");
  }
  std::optional<Result<AuthenticatedAnswer>> answer;
  {
    auto resolver = CaresResolver::Create(&loop, options);
    if (!resolver.ok()) {
      uv_loop_close(&loop);
      return resolver.error();
    }
    (*resolver)->ResolveAuthenticated(name, qtype, [&answer, &loop](Result<AuthenticatedAnswer> r) {
      answer.emplace(std::move(r));
      uv_stop(&loop);  // c-ares may keep its socket watched
    });
    if (!answer) uv_run(&loop, UV_RUN_DEFAULT);  // until the query has finished
    (*resolver)->Shutdown();
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // runs the close callbacks
  uv_loop_close(&loop);
  if (!answer) return MakeError(ErrorCode::kUnavailable, "lookup of " + name + ": no answer");
  return std::move(*answer);
}

}  // namespace sg::dns
