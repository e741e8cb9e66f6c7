#include "keyservice/dns_txt.h"

#include <uv.h>

#include <optional>

namespace sg::keyservice {

Result<std::vector<std::string>> CaresTxtResolver::Lookup(const std::string& name) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return MakeError(ErrorCode::kUnavailable, "keyservice.dns: cannot make an event loop");
  }
  std::optional<Result<std::vector<std::string>>> answer;
  {
    auto resolver = dns::CaresResolver::Create(&loop, options_);
    if (!resolver.ok()) {
      uv_loop_close(&loop);
      return resolver.error();
    }
    (*resolver)->ResolveTxt(name, [&answer, &loop](Result<std::vector<std::string>> r) {
      answer.emplace(std::move(r));
      uv_stop(&loop);  // c-ares may keep its socket watched
    });
    if (!answer) uv_run(&loop, UV_RUN_DEFAULT);  // until the query has finished
    (*resolver)->Shutdown();
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // runs the close callbacks
  uv_loop_close(&loop);
  if (!answer) return MakeError(ErrorCode::kUnavailable, "TXT lookup of " + name + ": no answer");
  return std::move(*answer);
}

}  // namespace sg::keyservice
