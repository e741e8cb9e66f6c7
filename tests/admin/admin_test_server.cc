#include "tests/admin/admin_test_server.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace sg::admin::testing {

namespace ks = sg::keyservice;

AdminTestServer::AdminTestServer(uint64_t max_body_bytes, RateLimit rate_limit,
                                 ClientLimit client_limit) {
  auto config = ks::testing::TestConfig(dir_.path());
  auto opened = ks::KeyServiceImpl::Open(config, {"default.example"}, registry_, clock_);
  if (!opened.ok()) {
    ADD_FAILURE() << opened.error().ToString();
    std::abort();
  }
  ks_ = std::move(*opened);
  auto must = [](const Status& st) {
    if (!st.ok()) {
      ADD_FAILURE() << st.error().ToString();
      std::abort();
    }
  };
  auto must_r = [](const auto& r) {
    if (!r.ok()) {
      ADD_FAILURE() << r.error().ToString();
      std::abort();
    }
  };
  must_r(ks_->ResellerAdd({"r1", "Reseller One"}));
  must_r(ks_->ResellerAdd({"r2", "Reseller Two"}));
  must_r(ks_->TenantAdd({"a", "Tenant A", "r1"}));
  must_r(ks_->TenantAdd({"b", "Tenant B", "r2"}));
  must_r(ks_->TenantAdd({"c", "Tenant C", "r1"}));
  for (const char* t : {"a", "b", "c"}) {
    const std::string tenant = t;
    must(ks_->AddDomain(ks::Domain{tenant + ".example", tenant}));
  }
  must_r(ks_->PutUsers({{"ann@a.example", true, "a"},
                        {"bob@b.example", true, "b"},
                        {"cat@c.example", true, "c"}}));
  for (const char* u : {"ann@a.example", "bob@b.example", "cat@c.example"}) {
    must_r(ks_->Rollover(u));
  }
  must_r(ks_->TenantBind({"network", "192.0.2.0/24", "b"}));
  tokens_ = std::make_unique<AdminTokens>(ks_->store(), *ks_, clock_);
  AdminApiConfig api;
  api.enabled = true;
  api.port = 0;
  api.hostname = "localhost";
  api.tls_dir = (dir_.path() / "admin-tls").string();
  api.max_body_bytes = max_body_bytes;
  api.max_connections = 4;
  api.rate_limit = rate_limit;
  api.unauthenticated_limit = client_limit;
  server_ = std::make_unique<AdminServer>(
      api, ApiDeps{*ks_, *ks_, *ks_, *ks_, *tokens_, clock_, *ks_, *ks_}, registry_);
  server_->SetPortal(&portal_);
  must(server_->Start());
}

AdminTestServer::~AdminTestServer() {
  server_.reset();
  ks_->Shutdown();
}

std::string AdminTestServer::Token(const std::string& scope) {
  auto t = tokens_->Add(scope, "test " + scope);
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  return t.ok() ? t->token : "";
}

std::string AdminTestServer::CertificateOf(const std::string& address) {
  auto certs = ks_->ListCertificates(address, "own");
  EXPECT_TRUE(certs.ok()) << address;
  if (certs.ok()) {
    for (const auto& c : *certs) {
      if (c.current) return c.fingerprint;
    }
  }
  ADD_FAILURE() << address << " has no current certificate";
  return "";
}

HttpAnswer AdminTestServer::Call(const std::string& method, const std::string& path,
                                 const std::string& token, const std::string& body,
                                 const std::string& content_type, const std::string& source) {
  httplib::SSLClient client("127.0.0.1", server_->port());
  if (!source.empty()) client.set_interface(source);  // not an interface name: bound as an address
  client.enable_server_certificate_verification(false);  // self-signed; TLS is not under test
  client.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result r{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    r = client.Get(path.c_str(), headers);
  } else if (method == "DELETE") {
    r = client.Delete(path.c_str(), headers);
  } else if (method == "POST") {
    r = client.Post(path.c_str(), headers, body, content_type.c_str());
  } else if (method == "PUT") {
    r = client.Put(path.c_str(), headers, body, content_type.c_str());
  } else if (method == "PATCH") {
    r = client.Patch(path.c_str(), headers, body, content_type.c_str());
  }
  HttpAnswer a;
  if (!r) return a;
  a.status = r->status;
  a.body = r->body;
  a.allow = r->get_header_value("Allow");
  a.www_authenticate = r->get_header_value("WWW-Authenticate");
  a.content_type = r->get_header_value("Content-Type");
  a.retry_after = r->get_header_value("Retry-After");
  return a;
}

}  // namespace sg::admin::testing
