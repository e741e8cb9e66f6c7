#include "workers/smime/revocation_http.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <memory>
#include <mutex>

#include "common/net_address.h"

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
  const IpBytes a = AddressBytes(&address->addr);
  const AddressClass cls = ClassifyAddress(a);
  if (cls != AddressClass::kPublic && !t->allow_private) {
    t->refused = true;
    t->refused_address = AddressText(a) + " (" + AddressClassName(cls) + ")";
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

bool HasHttpScheme(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

}  // namespace

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
