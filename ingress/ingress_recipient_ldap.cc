#include "ingress/ingress_recipient_ldap.h"

#include <ldap.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "common/ldap/ldap_filter.h"

namespace sg::ingress {
namespace {

Result<std::string> ReadPassword(const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + where + ".bind_password_file: cannot read " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string p = ss.str();
  while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
  if (p.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + where + ".bind_password_file: " + path + " is empty");
  }
  return p;
}

}  // namespace

Result<std::string> LdapFilterFor(const std::string& filter_template, const std::string& address) {
  return ldap::FilterFor(filter_template, address);
}

Status ValidateLdapConfig(const LdapConfig& c, const std::string& where) {
  auto bad = [&where](const std::string& key, const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "config " + where + "." + key + ": " + why);
  };
  if (!ldap::IsLdapUrl(c.url)) {
    return bad("url", "must start with ldap:// or ldaps:// (got \"" + c.url + "\")");
  }
  if (c.base_dn.empty()) return bad("base_dn", "missing");
  if (const std::string problem = ldap::FilterTemplateProblem(c.filter); !problem.empty()) {
    return bad("filter", problem);
  }
  if (!c.bind_dn.empty() && c.bind_password_file.empty()) {
    return bad("bind_password_file", "missing (bind_dn is set)");
  }
  if (c.timeout.count() <= 0) return bad("timeout", "must be greater than zero");
  return OkStatus();
}

LdapSource::LdapSource(LdapConfig config, std::string where)
    : config_(std::move(config)), where_(std::move(where)), pool_(config_.max_idle) {}

LdapSource::~LdapSource() = default;

Result<std::shared_ptr<LdapSource>> LdapSource::Open(LdapConfig config, std::string where) {
  SG_RETURN_IF_ERROR(ValidateLdapConfig(config, where));
  std::shared_ptr<LdapSource> s(new LdapSource(std::move(config), std::move(where)));
  SG_RETURN_IF_ERROR(s->Reload());
  return s;
}

Status LdapSource::Reload() {
  std::string password;
  if (!config_.bind_dn.empty()) {
    SG_ASSIGN_OR_RETURN(password, ReadPassword(config_.bind_password_file, where_));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    password_ = std::move(password);
  }
  // After the password: a connection tagged with the new generation binds
  // with the new password.
  pool_.Clear();
  return OkStatus();
}

Result<std::unique_ptr<ldap::Connection>> LdapSource::Connect() {
  ldap::ConnectOptions o;
  o.url = config_.url;
  o.starttls = config_.starttls;
  o.ca_file = config_.tls_ca_file;
  o.bind_dn = config_.bind_dn;
  o.timeout = config_.timeout;
  const uint64_t generation = pool_.generation();
  std::string password;
  {
    std::lock_guard<std::mutex> lock(mu_);
    password = password_;
  }
  auto conn = ldap::Connection::Open(o, password);
  if (conn.ok()) (*conn)->set_generation(generation);
  return conn;
}

RecipientStatus LdapSource::Search(ldap::Connection& conn, const std::string& filter,
                                   bool& broken) {
  ldap::SearchRequest request;
  request.base = config_.base_dn;
  request.filter = filter;
  request.attributes = {"1.1"};  // RFC 4511: no attributes, the DN only
  request.size_limit = 2;
  // The timeout bounds the wait here and is sent as the server's time limit.
  request.timeout = config_.timeout;
  ldap::MessagePtr msg;
  const int rc = ldap::Search(conn.get(), request, &msg);
  LDAPMessage* res = msg.get();
  const int entries = res != nullptr ? ldap_count_entries(conn.get(), res) : 0;
  if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
    return entries > 0 ? RecipientStatus::kKnown : RecipientStatus::kUnknown;
  }
  // No such base DN: the directory is misconfigured, not the address unknown.
  broken = rc != LDAP_NO_SUCH_OBJECT;
  spdlog::warn("ingress: ldap {} search under {} failed: {}", config_.url, config_.base_dn,
               ldap_err2string(rc));
  return RecipientStatus::kUnavailable;
}

RecipientStatus LdapSource::Lookup(const std::string& address) {
  ldap::BlockSigpipeOnThisThread();  // kept connections (ldap_client.h)
  auto filter = LdapFilterFor(config_.filter, address);
  if (!filter.ok()) return RecipientStatus::kUnavailable;  // cannot ask: never a 550
  // A kept connection may have been closed by the server meanwhile: one
  // more try on a fresh connection before "unavailable".
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<ldap::Connection> conn = pool_.Take();
    const bool reused = conn != nullptr;
    if (!reused) {
      auto fresh = Connect();
      if (!fresh.ok()) {
        spdlog::warn("ingress: recipient verification: {}", fresh.error().ToString());
        return RecipientStatus::kUnavailable;
      }
      conn = std::move(fresh).value();
    }
    bool broken = false;
    const RecipientStatus s = Search(*conn, *filter, broken);
    if (!broken) {
      pool_.GiveBack(std::move(conn));
      return s;
    }
    if (!reused) return s;
  }
  return RecipientStatus::kUnavailable;
}

}  // namespace sg::ingress
