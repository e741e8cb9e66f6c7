#include "workers/smime/revocation_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <memory>
#include <mutex>

namespace sg::smime {
namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  std::string body;
  uint64_t max_bytes = 0;
  bool too_large = false;
  bool allow_private = false;
  bool refused = false;
  std::string refused_address;
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->body.size() + len > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(data, len);
  return len;
}

// Checks the resolved address right before the connect.
curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const sockaddr* sa = &address->addr;
  bool ok = false;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ok = IsPublicAddress(reinterpret_cast<const uint8_t*>(&in->sin_addr), 4);
    inet_ntop(AF_INET, &in->sin_addr, text.data(), text.size());
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ok = IsPublicAddress(in6->sin6_addr.s6_addr, 16);
    inet_ntop(AF_INET6, &in6->sin6_addr, text.data(), text.size());
  }
  if (!ok && !t->allow_private) {
    t->refused = true;
    t->refused_address = text.data();
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

bool HasHttpScheme(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

bool IsPublicV4(const uint8_t* a) {
  const uint32_t v = (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3];
  struct Range {
    uint32_t net;
    int bits;
  };
  // Unspecified/"this network", RFC 1918, RFC 6598, loopback, link-local,
  // IETF protocol assignments, documentation, benchmarking, multicast and reserved.
  static constexpr std::array<Range, 14> kRanges = {{
      {0x00000000, 8},  {0x0A000000, 8},  {0x64400000, 10}, {0x7F000000, 8},
      {0xA9FE0000, 16}, {0xAC100000, 12}, {0xC0000000, 24}, {0xC0000200, 24},
      {0xC0A80000, 16}, {0xC6120000, 15}, {0xC6336400, 24}, {0xCB007100, 24},
      {0xE0000000, 4},  {0xF0000000, 4}}};
  for (const Range& r : kRanges) {
    const uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((v & mask) == r.net) return false;
  }
  return true;
}

}  // namespace

bool IsPublicAddress(const uint8_t* bytes, size_t len) {
  if (len == 4) return IsPublicV4(bytes);
  if (len != 16) return false;
  static constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::array<uint8_t, 12> kNat64Prefix = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(bytes, kMappedPrefix.data(), 12) == 0 ||
      std::memcmp(bytes, kNat64Prefix.data(), 12) == 0) {
    return IsPublicV4(bytes + 12);
  }
  // Only global unicast (2000::/3) is public; within it, documentation 2001:db8::/32.
  if ((bytes[0] & 0xe0) != 0x20) return false;
  return !(bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8);
}

Result<std::string> CurlHttpFetcher::Fetch(const HttpRequest& request) {
  if (!HasHttpScheme(request.url)) {
    return MakeError(ErrorCode::kInvalidArgument, "not an http(s) URL: " + request.url);
  }
  InitCurl();
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  Transfer t;
  t.max_bytes = request.max_bytes;
  t.allow_private = allow_private_;
  std::unique_ptr<curl_slist, SlistFree> headers;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));  // NOLINT(google-runtime-int)
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_bytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "smimegate-revocation");
  if (!request.post_body.empty()) {
    headers.reset(curl_slist_append(nullptr, ("Content-Type: " + request.content_type).c_str()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.post_body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.post_body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (t.refused) {
    return MakeError(ErrorCode::kPermissionDenied,
                     request.url + ": " + t.refused_address +
                         " is not a public address (workers.smime.revocation.allow_private_addresses)");
  }
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return MakeError(ErrorCode::kResourceExhausted,
                     request.url + ": answer larger than " + std::to_string(request.max_bytes) + " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return MakeError(ErrorCode::kTimeout, request.url + ": no answer within " +
                                                       std::to_string(request.timeout.count()) + " ms");
  }
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable, request.url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;  // NOLINT(google-runtime-int): curl's type
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return MakeError(ErrorCode::kUnavailable, request.url + ": HTTP status " + std::to_string(status));
  }
  return std::move(t.body);
}

}  // namespace sg::smime
