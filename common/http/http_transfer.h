// One bounded HTTP(S) request with libcurl: the part every outbound HTTP
// client of ours shares (the workers' revocation fetches,
// workers/smime/revocation_http.h; the keyservice's Microsoft Graph source,
// keyservice/directory_graph_http.h). The callers keep their protocol
// (status handling, retries, what an answer means); this layer fixes the
// safety settings once:
//   - http:// and https:// only (https_only: https:// only), enforced for
//     the URL and by libcurl's protocol list; redirects never followed;
//   - TLS peers always verified (certificate chain and host name), against
//     ca_file when given, else the system's roots;
//   - a whole-request timeout and an answer size limit (a longer answer is
//     cut off and refused);
//   - optionally, every address is checked right before the connect (after
//     DNS), so a name that resolves to a private address can be refused;
//   - curl_global_init runs once per process, before the first request.
//
// Threading: Perform may be called from any number of threads at once (one
// curl easy handle per call); it blocks for at most options.timeout (plus
// the callbacks' time).
// Errors: kInvalidArgument (not an allowed URL scheme), kPermissionDenied
// (check_address refused; the message is "<url>: <its reason>"),
// kResourceExhausted (answer over max_bytes), kTimeout, kUnavailable
// (connection, TLS or protocol failure). Any HTTP status is an answer.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sg::http {

struct TransferOptions {
  std::string url;
  bool https_only = false;
  std::chrono::milliseconds timeout{30000};  // the whole request
  uint64_t max_bytes = 1 << 20;              // the answer body
  std::string ca_file;                       // PEM roots; "" = the system's
  std::string user_agent;
  std::vector<std::string> headers;  // "Name: value"
  // POST when either is set: post_body as is (set its Content-Type in
  // headers), or form as application/x-www-form-urlencoded (encoded here).
  std::string post_body;
  std::vector<std::pair<std::string, std::string>> form;
  // Called with each answer header line (as received, with its CRLF).
  std::function<void(std::string_view line)> on_header;
  // Called before each connect with the resolved address: "" allows it,
  // anything else refuses it and is the reason in the error.
  std::function<std::string(const sockaddr* address)> check_address;
  // CURLOPT_RESOLVE entries "host:port:address": the caller resolved the
  // name itself (egress's MTA-STS fetch, through egress.dns.servers).
  std::vector<std::string> resolve;
};

// Part of the kUnavailable message when the peer's certificate chain or
// host name did not verify (a caller may report it apart, e.g. TLS-RPT's
// sts-webpki-invalid).
inline constexpr std::string_view kPeerVerificationFailed = "TLS peer verification failed";

struct TransferAnswer {
  int status = 0;
  std::string body;
};

Result<TransferAnswer> Perform(const TransferOptions& options);

}  // namespace sg::http
