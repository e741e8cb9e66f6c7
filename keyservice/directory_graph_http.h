// HTTPS for the Microsoft Graph directory source (directory_graph_source.h):
// one request, one answer with its status and Retry-After. The source does
// the protocol (token, paging, retries); this layer only moves bytes.
//
// CurlGraphHttp: libcurl through sg_http (common/http/http_transfer.h):
// https only, the peer verified (against ca_file when given, else the
// system's roots), no redirects followed, the answer cut off at max_bytes
// (kResourceExhausted), a whole-request timeout. Transport failures are
// kUnavailable; any HTTP status is an answer.
//
// Threading: one request at a time per object (the source is serialised).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sg::keyservice {

struct GraphHttpRequest {
  std::string url;
  std::string bearer_token;  // "Authorization: Bearer ..." when not empty
  // POST application/x-www-form-urlencoded when not empty (values are
  // encoded here); GET otherwise.
  std::vector<std::pair<std::string, std::string>> form;
  uint64_t max_bytes = 16 << 20;
  std::chrono::milliseconds timeout{30000};
};

struct GraphHttpAnswer {
  int status = 0;
  std::string body;
  std::optional<int64_t> retry_after_seconds;  // a Retry-After in seconds
};

class GraphHttp {
 public:
  virtual ~GraphHttp() = default;
  virtual Result<GraphHttpAnswer> Send(const GraphHttpRequest& request) = 0;
};

class CurlGraphHttp final : public GraphHttp {
 public:
  // |ca_file|: PEM roots that verify the servers ("" = the system's).
  explicit CurlGraphHttp(std::string ca_file) : ca_file_(std::move(ca_file)) {}
  Result<GraphHttpAnswer> Send(const GraphHttpRequest& request) override;

 private:
  std::string ca_file_;
};

}  // namespace sg::keyservice
