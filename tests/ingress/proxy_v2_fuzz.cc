// libFuzzer target for the PROXY protocol v2 parser
// (ingress/ingress_proxy_protocol.h). Properties beyond "no crash": a
// header is accepted only whole (consumed <= input, within the limit), the
// answer does not depend on bytes after the header, and every prefix of an
// accepted header asks for more.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingress/ingress_proxy_protocol.h"

namespace {

void Check(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sg::ingress::ProxyV2Result;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = sg::ingress::ParseProxyV2(in);
  if (r.state != ProxyV2Result::State::kDone) return 0;
  Check(r.consumed <= in.size() && r.consumed <= sg::ingress::kMaxProxyV2Length);
  Check(r.local || !r.source_ip.empty());
  const auto again = sg::ingress::ParseProxyV2(in.substr(0, r.consumed));
  Check(again.state == ProxyV2Result::State::kDone && again.consumed == r.consumed &&
        again.source_ip == r.source_ip && again.source_port == r.source_port);
  Check(sg::ingress::ParseProxyV2(in.substr(0, r.consumed - 1)).state ==
        ProxyV2Result::State::kNeedMore);
  return 0;
}
