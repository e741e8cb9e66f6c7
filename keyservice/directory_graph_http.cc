#include "keyservice/directory_graph_http.h"

#include <charconv>

#include "common/ascii.h"
#include "common/http/http_transfer.h"

namespace sg::keyservice {
namespace {

// Retry-After in seconds (the HTTP-date form is not used by Graph).
void OnHeader(std::string_view line, GraphHttpAnswer& answer) {
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && AsciiLower(line.substr(0, kName.size())) == kName) {
    std::string_view value = AsciiTrim(line.substr(kName.size()));
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
      answer.retry_after_seconds = seconds;
    }
  }
}

}  // namespace

Result<GraphHttpAnswer> CurlGraphHttp::Send(const GraphHttpRequest& request) {
  GraphHttpAnswer answer;
  http::TransferOptions o;
  o.url = request.url;
  o.https_only = true;
  o.timeout = request.timeout;
  o.max_bytes = request.max_bytes;
  o.ca_file = ca_file_;
  o.user_agent = "smimegate-directory";
  o.headers.emplace_back("Accept: application/json");
  if (!request.bearer_token.empty()) {
    o.headers.push_back("Authorization: Bearer " + request.bearer_token);
  }
  o.form = request.form;
  o.on_header = [&answer](std::string_view line) { OnHeader(line, answer); };
  SG_ASSIGN_OR_RETURN(auto got, http::Perform(o));
  answer.status = got.status;
  answer.body = std::move(got.body);
  return answer;
}

}  // namespace sg::keyservice
