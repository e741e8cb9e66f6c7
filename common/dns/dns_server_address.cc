#include "common/dns/dns_server_address.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <string>

namespace sg::dns {
namespace {

Error Bad(std::string_view text, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "DNS server \"" + std::string(text) + "\": " + why +
                       " (expected an IP address with an optional port: 127.0.0.1, "
                       "127.0.0.1:5353, [::1]:5353)");
}

}  // namespace

Result<Server> ParseServerAddress(std::string_view text) {
  Server s;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Bad(text, "no closing ]");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Bad(text, "text after ]");
      port = text.substr(close + 2);
    }
  } else if (text.find(':') != std::string_view::npos && text.find(':') == text.rfind(':')) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  s.host = std::string(host);
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  if (inet_pton(AF_INET, s.host.c_str(), buf.data()) != 1 &&
      inet_pton(AF_INET6, s.host.c_str(), buf.data()) != 1) {
    return Bad(text, "not an IP address");
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Bad(text, "bad port");
    }
    s.port = static_cast<uint16_t>(value);
  }
  return s;
}

Result<std::vector<Server>> ParseServerList(const config::ConfigNode& section,
                                            const std::string& key) {
  SG_ASSIGN_OR_RETURN(auto texts, section.StringList(key));
  std::vector<Server> servers;
  servers.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto server = ParseServerAddress(texts[i]);
    if (!server.ok()) {
      return section.ErrorAt(key, "entry " + std::to_string(i) + ": " + server.error().message);
    }
    servers.push_back(std::move(*server));
  }
  return servers;
}

}  // namespace sg::dns
