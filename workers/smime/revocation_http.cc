#include "workers/smime/revocation_http.h"

#include "common/http/http_transfer.h"
#include "common/net_address.h"

namespace sg::smime {
namespace {

// check_address of sg::http: every address that is not public is refused
// unless allow_private.
std::string CheckAddress(const sockaddr* address, bool allow_private) {
  const IpBytes a = AddressBytes(address);
  const AddressClass cls = ClassifyAddress(a);
  if (cls == AddressClass::kPublic || allow_private) return "";
  return AddressText(a) + " (" + AddressClassName(cls) +
         ") is not a public address (workers.smime.revocation.allow_private_addresses)";
}

}  // namespace

Result<std::string> CurlHttpFetcher::Fetch(const HttpRequest& request) {
  http::TransferOptions o;
  o.url = request.url;
  o.timeout = request.timeout;
  o.max_bytes = request.max_bytes;
  o.user_agent = "smimegate-revocation";
  if (!request.post_body.empty()) {
    o.post_body = request.post_body;
    o.headers.push_back("Content-Type: " + request.content_type);
  }
  const bool allow_private = allow_private_;
  o.check_address = [allow_private](const sockaddr* address) {
    return CheckAddress(address, allow_private);
  };
  SG_ASSIGN_OR_RETURN(auto answer, http::Perform(o));
  if (answer.status != 200) {
    return MakeError(ErrorCode::kUnavailable,
                     request.url + ": HTTP status " + std::to_string(answer.status));
  }
  return std::move(answer.body);
}

}  // namespace sg::smime
