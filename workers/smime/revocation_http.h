// HTTP fetches of revocation data (OCSP over POST, CRLs over GET), with
// libcurl through sg_http (common/http/http_transfer.h).
//
// Purpose: the only outbound HTTP the workers make. The URL comes from a
// certificate that already chains to a trusted root, but its content is the
// certificate issuer's to choose, so every fetch is bounded and confined
// (docs/security.md, "Revocation fetches"):
//   - only http:// and https:// URLs; no redirects;
//   - a total time limit (connect + answer) and a size limit: a longer
//     answer is cut off and refused;
//   - the address connected to is checked right before the connect (after
//     DNS, so a name pointing at 127.0.0.1 is caught): every address that
//     common/net_address.h does not classify as public (loopback, private,
//     link-local, unspecified, multicast, reserved; the classifier egress
//     uses too) is refused unless allow_private is set.
//
// Threading: Fetch() may be called from any number of threads at once (one
// curl easy handle per call). It blocks the calling thread for at most
// |timeout|.
// Errors: kInvalidArgument (URL not http(s)), kPermissionDenied (address
// refused), kResourceExhausted (answer larger than |max_bytes|),
// kTimeout (timeout), kUnavailable (connection or HTTP error,
// status other than 200).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace sg::smime {

struct HttpRequest {
  std::string url;
  std::string post_body;     // empty: GET
  std::string content_type;  // of the POST body
  std::chrono::milliseconds timeout{5000};
  uint64_t max_bytes = 64 * 1024;
};

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  virtual Result<std::string> Fetch(const HttpRequest& request) = 0;
};

class CurlHttpFetcher final : public HttpFetcher {
 public:
  explicit CurlHttpFetcher(bool allow_private) : allow_private_(allow_private) {}
  Result<std::string> Fetch(const HttpRequest& request) override;

 private:
  bool allow_private_;
};

}  // namespace sg::smime
