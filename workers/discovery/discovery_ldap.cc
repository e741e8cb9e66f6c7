#include "workers/discovery/discovery_ldap.h"

#include <openssl/crypto.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <memory>

#include "common/ldap/ldap_filter.h"
#include "common/mail/address.h"

namespace sg::workers {
namespace {

struct Pkcs7Free {
  void operator()(PKCS7* p) const { PKCS7_free(p); }
};

std::vector<std::string> Pkcs7Certificates(const std::string& value) {
  std::vector<std::string> out;
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  std::unique_ptr<PKCS7, Pkcs7Free> p7(d2i_PKCS7(nullptr, &p, static_cast<long>(value.size())));
  if (p7 == nullptr || PKCS7_type_is_signed(p7.get()) == 0 || p7->d.sign == nullptr) return out;
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(sk_X509_value(certs, i), &der);
    if (len > 0) out.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  return out;
}

// The values of `attribute` in an entry; a server may leave out the
// ";binary" transfer option in its answer.
std::vector<std::string> AttributeValues(const ldap::Attributes& attrs, const std::string& name) {
  auto values = ldap::Values(attrs, name);
  const size_t option = name.find(';');
  if (values.empty() && option != std::string::npos) {
    values = ldap::Values(attrs, name.substr(0, option));
  }
  return values;
}

bool TimedOut(int rc) { return rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED; }

}  // namespace

std::vector<std::string> CertificatesInValue(const std::string& value, bool pkcs7) {
  if (pkcs7) return Pkcs7Certificates(value);
  return {value};
}

LdapDirectorySource::LdapDirectorySource(LdapDirectoryConfig config)
    : config_(std::move(config)), pool_(config_.max_idle) {}

bool LdapDirectorySource::Covers(const std::string& address) const {
  return DomainCovered(config_.domains, mail::DomainOf(address));
}

Result<std::unique_ptr<ldap::Connection>> LdapDirectorySource::Connect() {
  const uint64_t generation = pool_.generation();
  std::string password;
  if (!config_.connect.bind_dn.empty()) {
    SG_ASSIGN_OR_RETURN(password,
                        ldap::ReadBindPassword(config_.connect.url, config_.bind_password_file,
                                               config_.bind_password_env));
  }
  auto conn = ldap::Connection::Open(config_.connect, password);
  OPENSSL_cleanse(password.data(), password.size());
  if (conn.ok()) (*conn)->set_generation(generation);
  return conn;
}

SourceAnswer LdapDirectorySource::Search(ldap::Connection& conn, const std::string& filter,
                                         bool& broken) {
  SourceAnswer out;
  ldap::SearchRequest request;
  request.base = config_.base_dn;
  request.filter = filter;
  request.attributes = {config_.attribute};
  request.size_limit = config_.size_limit;
  request.timeout = config_.connect.timeout;
  ldap::MessagePtr msg;
  const int rc = ldap::Search(conn.get(), request, &msg);
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
    // No such base DN: the directory answers, the configuration is wrong.
    broken = rc != LDAP_NO_SUCH_OBJECT && !TimedOut(rc);
    out.result = TimedOut(rc) ? "timeout" : "error";
    out.detail =
        ldap::LdapError(config_.connect.url, "search under " + config_.base_dn, rc).ToString();
    return out;
  }
  int entries = 0;
  size_t too_large = 0;
  for (LDAPMessage* e = ldap_first_entry(conn.get(), msg.get()); e != nullptr;
       e = ldap_next_entry(conn.get(), e)) {
    ++entries;
    for (const auto& value :
         AttributeValues(ldap::AttributesOf(conn.get(), e), config_.attribute)) {
      if (value.size() > config_.max_value_size) {
        ++too_large;
        continue;
      }
      for (auto& der : CertificatesInValue(value, config_.pkcs7)) {
        out.certificates_der.push_back(std::move(der));
      }
    }
  }
  out.result = !out.certificates_der.empty() ? "found"
               : entries == 0                ? "not_found"
                                             : "no_certificate";
  out.detail =
      config_.connect.url + ": " + std::to_string(entries) + " entries" +
      (rc == LDAP_SIZELIMIT_EXCEEDED ? " (size limit reached)" : "") +
      (too_large > 0 ? ", " + std::to_string(too_large) + " values over max_value_size" : "");
  return out;
}

SourceAnswer LdapDirectorySource::Find(const std::string& address) {
  ldap::BlockSigpipeOnThisThread();  // kept connections (ldap_client.h)
  SourceAnswer out;
  auto filter = ldap::FilterFor(config_.filter, address);
  if (!filter.ok()) {
    out.result = "error";
    out.detail = filter.error().ToString();
    return out;
  }
  // A kept connection may have been closed by the server meanwhile: one
  // more try on a fresh connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<ldap::Connection> conn = pool_.Take();
    const bool reused = conn != nullptr;
    if (!reused) {
      auto fresh = Connect();
      if (!fresh.ok()) {
        out.result = "error";  // connect, TLS or bind (each bounded by the timeout)
        out.detail = fresh.error().ToString();
        return out;
      }
      conn = std::move(fresh).value();
    }
    bool broken = false;
    out = Search(*conn, *filter, broken);
    if (!broken) {
      if (out.result != "timeout") pool_.GiveBack(std::move(conn));
      return out;
    }
    if (!reused) return out;
  }
  return out;
}

}  // namespace sg::workers
