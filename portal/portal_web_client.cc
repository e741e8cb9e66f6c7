#include "portal/portal_web_client.h"

#include "common/ascii.h"

namespace sg::portal {
namespace {

std::string_view Trim(std::string_view s) { return AsciiTrim(s, " \t"); }  // HTTP OWS

}  // namespace

Client ResolveClient(std::string_view peer, const std::vector<std::string>& forwarded_for,
                     const std::vector<Cidr>& trusted_proxies) {
  Client c{std::string(peer), Client::Source::kPeer};
  if (forwarded_for.empty() || !AnyContains(trusted_proxies, peer)) return c;
  std::string_view last = forwarded_for.back();
  const size_t comma = last.rfind(',');
  if (comma != std::string_view::npos) last.remove_prefix(comma + 1);
  last = Trim(last);
  if (!IsIpAddress(last)) {
    c.source = Client::Source::kMalformed;
    return c;
  }
  c.ip = std::string(last);
  c.source = Client::Source::kForwarded;
  return c;
}

}  // namespace sg::portal
