// docs/api/openapi.yaml against the implementation, both ways: every
// documented path and method is in the server's route table and answers
// (not the "no such route" 404 or a 405), and every route the server
// registers (RouteTable(), exported by the code) is documented; every
// operation documents the answers every request may get before its handler
// runs (401 no valid token, 429 over a rate limit: admin_api.cc). The
// document's validity is checked by admin.openapi_validate (npm validator).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <set>

#include "admin/admin_routes.h"
#include "common/ascii.h"
#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

std::set<std::string> Documented() {
  std::set<std::string> out;
  YAML::Node doc = YAML::LoadFile(SG_OPENAPI_YAML);
  for (const auto& path : doc["paths"]) {
    for (const auto& op : path.second) {
      const auto method = op.first.as<std::string>();
      if (method == "get" || method == "post" || method == "put" || method == "patch" ||
          method == "delete") {
        out.insert(AsciiUpper(method) + " " + path.first.as<std::string>());
      }
    }
  }
  return out;
}

std::set<std::string> Registered() {
  std::set<std::string> out;
  for (const auto& r : RouteTable()) out.insert(r.method + " " + r.path);
  return out;
}

// A concrete path for a template: placeholders name objects that do not exist.
std::string Concrete(std::string path) {
  const std::vector<std::pair<std::string, std::string>> values = {
      {"{id}", "zz"},
      {"{name}", "zz.example"},
      {"{address}", "nobody@zz.example"},
      {"{fingerprint}", std::string(64, '0')},
      {"{kind}", "network"},
      {"{selector}", "s1"},
      {"{value}", "192.0.2.0%2F24"}};
  for (const auto& [from, to] : values) {
    for (auto at = path.find(from); at != std::string::npos; at = path.find(from)) {
      path.replace(at, from.size(), to);
    }
  }
  return path;
}

TEST(AdminOpenApiTest, EveryRegisteredRouteIsDocumented) {
  const auto documented = Documented();
  ASSERT_FALSE(documented.empty());
  for (const auto& route : Registered()) {
    EXPECT_EQ(documented.count(route), 1u) << route << " is not in docs/api/openapi.yaml";
  }
}

TEST(AdminOpenApiTest, EveryDocumentedOperationIsRegisteredAndAnswers) {
  const auto registered = Registered();
  testing::AdminTestServer server;
  const std::string super = server.Token("super");
  for (const auto& op : Documented()) {
    SCOPED_TRACE(op);
    EXPECT_EQ(registered.count(op), 1u) << op << " is documented but not registered";
    const auto space = op.find(' ');
    const std::string method = op.substr(0, space);
    auto r = server.Call(method, Concrete(op.substr(space + 1)), super,
                         method == "POST" ? "{}" : "");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.status, 405) << r.body;
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status == 404) {
      ASSERT_TRUE(body.is_object()) << r.body;
      EXPECT_EQ(body["error"]["code"], "not_found") << r.body;  // the object, not the route
    }
  }
}

// Every request passes the token check and both rate limits before its
// handler (AdminApi::Handle), so every operation may answer 401 and 429.
TEST(AdminOpenApiTest, EveryOperationDocumentsTheTokenAndRateLimitAnswers) {
  YAML::Node doc = YAML::LoadFile(SG_OPENAPI_YAML);
  size_t operations = 0;
  for (const auto& path : doc["paths"]) {
    for (const auto& op : path.second) {
      const auto method = op.first.as<std::string>();
      if (method == "parameters") continue;
      ++operations;
      const YAML::Node responses = op.second["responses"];
      for (const char* code : {"401", "429"}) {
        EXPECT_TRUE(responses && responses[code])
            << AsciiUpper(method) << " " << path.first.as<std::string>() << " does not document "
            << code << " (add `'" << code << "': {$ref: '#/components/responses/E" << code
            << "'}`)";
      }
    }
  }
  EXPECT_EQ(operations, Documented().size());
}

}  // namespace
}  // namespace sg::admin
