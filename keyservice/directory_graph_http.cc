#include "keyservice/directory_graph_http.h"

#include <curl/curl.h>

#include <charconv>
#include <memory>
#include <mutex>

#include "common/ascii.h"

namespace sg::keyservice {
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
  GraphHttpAnswer answer;
  uint64_t max_bytes = 0;
  bool too_large = false;
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->answer.body.size() + len > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->answer.body.append(data, len);
  return len;
}

// Retry-After in seconds (the HTTP-date form is not used by Graph).
size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && AsciiLower(line.substr(0, kName.size())) == kName) {
    std::string_view value = AsciiTrim(line.substr(kName.size()));
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
      t->answer.retry_after_seconds = seconds;
    }
  }
  return len;
}

std::string FormBody(CURL* c, const std::vector<std::pair<std::string, std::string>>& form) {
  std::string body;
  for (const auto& [name, value] : form) {
    if (!body.empty()) body += '&';
    std::unique_ptr<char, CurlStringFree> n(curl_easy_escape(c, name.data(), static_cast<int>(name.size())));
    std::unique_ptr<char, CurlStringFree> v(curl_easy_escape(c, value.data(), static_cast<int>(value.size())));
    body.append(n.get()).append("=").append(v.get());
  }
  return body;
}

}  // namespace

Result<GraphHttpAnswer> CurlGraphHttp::Send(const GraphHttpRequest& request) {
  if (request.url.rfind("https://", 0) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "not an https URL: " + request.url);
  }
  InitCurl();
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  CURL* c = curl.get();
  Transfer t;
  t.max_bytes = request.max_bytes;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_file_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));  // NOLINT(google-runtime-int)
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_bytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "smimegate-directory");
  curl_slist* list = curl_slist_append(nullptr, "Accept: application/json");
  std::string auth;
  if (!request.bearer_token.empty()) {
    auth = "Authorization: Bearer " + request.bearer_token;
    if (curl_slist* more = curl_slist_append(list, auth.c_str())) list = more;
  }
  std::unique_ptr<curl_slist, SlistFree> headers(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  std::string body;
  if (!request.form.empty()) {
    body = FormBody(c, request.form);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return MakeError(ErrorCode::kResourceExhausted, request.url + ": answer larger than " +
                                                        std::to_string(request.max_bytes) + " bytes");
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
  t.answer.status = static_cast<int>(status);
  return std::move(t.answer);
}

}  // namespace sg::keyservice
