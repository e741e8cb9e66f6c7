#include "common/http/http_transfer.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace sg::http {
namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlStringFree {
  void operator()(char* s) const { curl_free(s); }
};

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const TransferOptions* options = nullptr;
  std::string body;
  bool too_large = false;
  std::string refused;  // check_address's reason
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->body.size() + len > t->options->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  t->options->on_header(std::string_view(data, len));
  return len;
}

curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  std::string reason = t->options->check_address(&address->addr);
  if (!reason.empty()) {
    t->refused = std::move(reason);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

std::string FormBody(CURL* c, const std::vector<std::pair<std::string, std::string>>& form) {
  std::string body;
  for (const auto& [name, value] : form) {
    if (!body.empty()) body += '&';
    std::unique_ptr<char, CurlStringFree> n(
        curl_easy_escape(c, name.data(), static_cast<int>(name.size())));
    std::unique_ptr<char, CurlStringFree> v(
        curl_easy_escape(c, value.data(), static_cast<int>(value.size())));
    body.append(n.get()).append("=").append(v.get());
  }
  return body;
}

// The settings every request gets (the header comment's list).
void SetCommonOptions(CURL* c, const TransferOptions& o, Transfer& t) {
  curl_easy_setopt(c, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, o.https_only ? "https" : "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(o.timeout.count()));  // NOLINT(google-runtime-int)
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_bytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (o.on_header) {
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  }
  if (o.check_address) {
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
  }
  if (!o.user_agent.empty()) curl_easy_setopt(c, CURLOPT_USERAGENT, o.user_agent.c_str());
}

bool AllowedScheme(const TransferOptions& o) {
  return o.url.rfind("https://", 0) == 0 || (!o.https_only && o.url.rfind("http://", 0) == 0);
}

}  // namespace

Result<TransferAnswer> Perform(const TransferOptions& options) {
  if (!AllowedScheme(options)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        std::string(options.https_only ? "not an https URL: " : "not an http(s) URL: ") +
            options.url);
  }
  InitCurl();
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  CURL* c = curl.get();
  Transfer t;
  t.options = &options;
  SetCommonOptions(c, options, t);
  curl_slist* list = nullptr;
  for (const auto& h : options.headers) {
    curl_slist* more = curl_slist_append(list, h.c_str());  // |list| itself, or null
    if (more == nullptr) {
      curl_slist_free_all(list);
      return MakeError(ErrorCode::kInternal, "curl_slist_append failed");
    }
    list = more;
  }
  std::unique_ptr<curl_slist, SlistFree> headers(list);
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_slist* resolve_list = nullptr;
  for (const auto& r : options.resolve) {
    curl_slist* more = curl_slist_append(resolve_list, r.c_str());
    if (more == nullptr) {
      curl_slist_free_all(resolve_list);
      return MakeError(ErrorCode::kInternal, "curl_slist_append failed");
    }
    resolve_list = more;
  }
  std::unique_ptr<curl_slist, SlistFree> resolve(resolve_list);
  if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  const std::string body = options.form.empty() ? options.post_body : FormBody(c, options.form);
  if (!body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (!t.refused.empty()) {
    return MakeError(ErrorCode::kPermissionDenied, options.url + ": " + t.refused);
  }
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return MakeError(
        ErrorCode::kResourceExhausted,
        options.url + ": answer larger than " + std::to_string(options.max_bytes) + " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return MakeError(ErrorCode::kTimeout, options.url + ": no answer within " +
                                              std::to_string(options.timeout.count()) + " ms");
  }
  if (rc == CURLE_PEER_FAILED_VERIFICATION) {
    return MakeError(
        ErrorCode::kUnavailable,
        options.url + ": " + std::string(kPeerVerificationFailed) + ": " + curl_easy_strerror(rc));
  }
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable, options.url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;  // NOLINT(google-runtime-int): curl's type
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return TransferAnswer{static_cast<int>(status), std::move(t.body)};
}

}  // namespace sg::http
