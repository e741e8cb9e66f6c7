// The shared libldap client (one copy for every LDAP user: the keyservice
// directory source, ingress recipient verification, partner-directory
// certificate discovery).
//
// Connection::Open connects to `url`, ldap:// with StartTLS (unless
// `starttls` is false: plain, which callers allow only on an explicit
// setting) or ldaps://; the server certificate is always verified (against
// `ca_file`, or the system's roots), TLS 1.2 at least; then a simple bind
// as `bind_dn` with the password given (never logged, never in an error),
// or anonymous. Referrals are never chased.
//
// Bounds: `timeout` bounds the TCP connect, each operation's wait and every
// search (also sent as the server's time limit). libldap does not bound
// the TLS handshake of a peer that accepts and never answers, so Open runs
// under a watchdog: 3 x timeout after it began, the socket is shut down and
// the handshake ends with an error.
//
// Errors: kUnavailable "ldap <url>: <what>: <libldap's text>".
//
// Threading: a Connection is used by one thread at a time; the free
// functions are thread-safe. ConnectionPool is thread-safe.
#pragma once

#include <ldap.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::ldap {

struct ConnectOptions {
  std::string url;       // ldap://host[:port] or ldaps://host[:port]
  bool starttls = true;  // ldap:// only; false = plain text
  std::string ca_file;   // "" = the system's trusted CAs
  std::string bind_dn;   // "" = anonymous
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
};

// True for ldap:// and ldaps:// URLs.
bool IsLdapUrl(const std::string& url);
bool IsLdapsUrl(const std::string& url);

timeval TimevalOf(std::chrono::milliseconds d);

// The bind password: the first line of `file` (a trailing CR dropped), or,
// without a file, the environment variable `env`. kUnavailable when it
// cannot be read or is empty; the error never holds the password.
Result<std::string> ReadBindPassword(const std::string& url, const std::string& file,
                                     const std::string& env);

// kUnavailable "ldap <url>: <what>: <ldap_err2string(rc)>".
Error LdapError(const std::string& url, const std::string& what, int rc);

struct MessageFree {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using MessagePtr = std::unique_ptr<LDAPMessage, MessageFree>;

class Connection {
 public:
  // Connected, TLS set up and bound (see above). `password` is used only
  // with a bind_dn.
  static Result<std::unique_ptr<Connection>> Open(const ConnectOptions& options,
                                                  const std::string& password);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  LDAP* get() const { return ld_; }
  // A tag for ConnectionPool (the pool's generation when it was opened).
  uint64_t generation() const { return generation_; }
  void set_generation(uint64_t g) { generation_ = g; }

 private:
  Connection() = default;
  struct Watch;
  LDAP* ld_ = nullptr;
  std::unique_ptr<Watch> watch_;  // the socket and libldap's callbacks; outlives ld_
  uint64_t generation_ = 0;
};

struct SearchRequest {
  std::string base;
  int scope = LDAP_SCOPE_SUBTREE;
  std::string filter = "(objectClass=*)";
  std::vector<std::string> attributes;  // empty = all user attributes; {"1.1"} = the DN only
  int size_limit = 0;                   // entries; 0 = the server's limit
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // wait and server time limit
  LDAPControl** controls = nullptr;  // server controls (e.g. paged results)
};

// ldap_search_ext_s. Returns libldap's code; `*out` holds the result
// (entries may be there also with LDAP_SIZELIMIT_EXCEEDED).
int Search(LDAP* ld, const SearchRequest& request, MessagePtr* out);

// Every attribute of an entry with all its values, keyed by the lower-case
// attribute description ("usercertificate;binary"). A server may return one
// attribute in several pieces (slapd does after an import):
// ldap_get_values_len would see only the first, so the entry is walked.
using Attributes = std::map<std::string, std::vector<std::string>>;
Attributes AttributesOf(LDAP* ld, LDAPMessage* entry);
// The values of `name` (any case); none when absent.
std::vector<std::string> Values(const Attributes& attrs, const std::string& name);
// The entry's DN as the server wrote it.
std::string DnOf(LDAP* ld, LDAPMessage* entry);

// libldap writes with plain write(): a directory that closed a kept
// connection would raise SIGPIPE and kill the process. SIGPIPE from a
// write goes to the writing thread, so a thread that uses kept connections
// blocks it for itself (it stays blocked) and libldap sees EPIPE.
void BlockSigpipeOnThisThread();

// Idle connections kept for reuse, at most `max_idle`. Clear() drops them
// and starts a new generation: a connection opened before (e.g. bound with
// a password since rotated) is not taken back.
class ConnectionPool {
 public:
  explicit ConnectionPool(size_t max_idle) : max_idle_(max_idle) {}
  // An idle connection, or nullptr (the caller opens one and tags it with
  // generation()).
  std::unique_ptr<Connection> Take();
  void GiveBack(std::unique_ptr<Connection> conn);
  void Clear();
  uint64_t generation() const;

 private:
  const size_t max_idle_;
  mutable std::mutex mu_;
  uint64_t generation_ = 0;                        // guarded by mu_
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

}  // namespace sg::ldap
