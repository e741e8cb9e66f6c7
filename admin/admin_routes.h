// The admin REST API's route table (docs/admin-api.md, docs/api/openapi.yaml):
// every method and path template the server answers, in the OpenAPI
// spelling ("/v1/tenants/{id}"). Exported so that the OpenAPI test compares
// the document with what the code registers, not with the sources' text.
//
// Threading: the table is immutable; FindRoute is a pure function.
#pragma once

#include <string>
#include <vector>

#include "admin/admin_handlers.h"

namespace sg::admin {

struct RouteInfo {
  std::string method;  // "GET", "POST", "DELETE"
  std::string path;    // template: literal segments and {name} placeholders
};

// Every route, in registration order.
std::vector<RouteInfo> RouteTable();

struct RouteMatch {
  Handler handler = nullptr;         // nullptr: no route for this method
  std::string route;                 // "GET /v1/tenants/{id}" (for audit records)
  std::vector<std::string> params;   // decoded placeholder values
  std::string allow;                 // the methods the path has ("" when no path matches)
  bool secret_body = false;          // the body carries a secret: never audited
};

// Matches a request path (percent-encoded segments, no query) against the
// table. A placeholder matches one non-empty segment; a segment that does
// not decode (bad %-escape, NUL) matches nothing.
RouteMatch FindRoute(const std::string& method, const std::string& path);

}  // namespace sg::admin
