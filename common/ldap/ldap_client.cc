#include "common/ldap/ldap_client.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/ascii.h"

namespace sg::ldap {
namespace {

// Remembers the connection's socket as soon as libldap has connected it
// (ConnectWatchdog below needs it).
int RememberSocket(LDAP* /*ld*/, Sockbuf* sb, LDAPURLDesc* /*url*/, sockaddr* /*addr*/,
                   ldap_conncb* ctx) {
  int fd = -1;
  if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0) {
    static_cast<std::atomic<int>*>(ctx->lc_arg)->store(fd);
  }
  return 0;
}

void NoCleanup(LDAP* /*ld*/, Sockbuf* /*sb*/, ldap_conncb* /*ctx*/) {}

// libldap bounds the TCP connect and each operation's wait, but not the TLS
// handshake of ldaps:// (or after StartTLS) with a peer that accepts and
// never answers: 2.5 with GnuTLS blocks there for ever. So Open() runs
// under a deadline; when it passes, the socket is shut down, which ends the
// handshake with an error. Cancelled (and joined) before Open() returns,
// so it never touches a socket that is closed or belongs to someone else.
class ConnectWatchdog {
 public:
  ConnectWatchdog(const std::atomic<int>& fd, std::chrono::milliseconds deadline)
      : fd_(fd), thread_([this, deadline] { Watch(deadline); }) {}
  ~ConnectWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  ConnectWatchdog(const ConnectWatchdog&) = delete;
  ConnectWatchdog& operator=(const ConnectWatchdog&) = delete;

 private:
  void Watch(std::chrono::milliseconds deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, deadline, [this] { return done_; })) return;
    const int fd = fd_.load();
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
  }

  const std::atomic<int>& fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

struct Connection::Watch {
  std::atomic<int> fd{-1};  // the socket, once connected
  ldap_conncb callbacks{};  // must outlive ld_ (libldap keeps the pointer)
};

bool IsLdapUrl(const std::string& url) {
  return url.rfind("ldap://", 0) == 0 || url.rfind("ldaps://", 0) == 0;
}

bool IsLdapsUrl(const std::string& url) { return url.rfind("ldaps://", 0) == 0; }

timeval TimevalOf(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

Result<std::string> ReadBindPassword(const std::string& url, const std::string& file,
                                     const std::string& env) {
  std::string p;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kUnavailable, "bind_password_file: cannot read " + file);
    std::getline(in, p);
    while (!p.empty() && p.back() == '\r') p.pop_back();
  } else if (const char* v = std::getenv(env.c_str())) {  // NOLINT(concurrency-mt-unsafe)
    p = v;
  }
  if (p.empty()) return MakeError(ErrorCode::kUnavailable, "ldap " + url + ": no bind password");
  return p;
}

Error LdapError(const std::string& url, const std::string& what, int rc) {
  return MakeError(ErrorCode::kUnavailable,
                   "ldap " + url + ": " + what + ": " + ldap_err2string(rc));
}

Connection::~Connection() {
  if (ld_ != nullptr) ldap_unbind_ext_s(ld_, nullptr, nullptr);
}

Result<std::unique_ptr<Connection>> Connection::Open(const ConnectOptions& options,
                                                     const std::string& password) {
  const std::string& url = options.url;
  std::unique_ptr<Connection> conn(new Connection());
  conn->watch_ = std::make_unique<Watch>();
  // Connect, handshake and bind are bounded by `timeout` each; the whole
  // by three (see ConnectWatchdog).
  ConnectWatchdog watchdog(conn->watch_->fd, 3 * options.timeout);
  int rc = ldap_initialize(&conn->ld_, url.c_str());
  if (rc != LDAP_SUCCESS) return LdapError(url, "initialise", rc);
  LDAP* ld = conn->ld_;
  const int v3 = LDAP_VERSION3;
  const timeval tv = TimevalOf(options.timeout);
  const int demand = LDAP_OPT_X_TLS_DEMAND;
  const int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
  const int new_ctx = 0;
  conn->watch_->callbacks.lc_add = RememberSocket;
  conn->watch_->callbacks.lc_del = NoCleanup;
  conn->watch_->callbacks.lc_arg = &conn->watch_->fd;
  ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &conn->watch_->callbacks);
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
  ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12);
  if (!options.ca_file.empty()) {
    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, options.ca_file.c_str());
  }
  rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &new_ctx);
  if (rc != LDAP_OPT_SUCCESS) return LdapError(url, "TLS settings", rc);
  if (!IsLdapsUrl(url) && options.starttls) {
    rc = ldap_start_tls_s(ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return LdapError(url, "StartTLS", rc);
  }
  if (!options.bind_dn.empty()) {
    std::string secret = password;
    berval cred{};
    cred.bv_val = secret.data();
    cred.bv_len = secret.size();
    rc = ldap_sasl_bind_s(ld, options.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr,
                          nullptr);
    OPENSSL_cleanse(secret.data(), secret.size());
    // The password itself never appears in an error or a log line.
    if (rc != LDAP_SUCCESS) return LdapError(url, "bind as " + options.bind_dn, rc);
  }
  return conn;
}

int Search(LDAP* ld, const SearchRequest& request, MessagePtr* out) {
  std::vector<std::string> names = request.attributes;
  std::vector<char*> attrs;
  attrs.reserve(names.size() + 1);
  for (auto& n : names) attrs.push_back(n.data());
  attrs.push_back(nullptr);
  timeval tv = TimevalOf(request.timeout);
  LDAPMessage* raw = nullptr;
  const int rc = ldap_search_ext_s(ld, request.base.c_str(), request.scope, request.filter.c_str(),
                                   names.empty() ? nullptr : attrs.data(), 0, request.controls,
                                   nullptr, &tv, request.size_limit, &raw);
  out->reset(raw);
  return rc;
}

Attributes AttributesOf(LDAP* ld, LDAPMessage* entry) {
  Attributes out;
  BerElement* ber = nullptr;
  berval dn{};
  if (ldap_get_dn_ber(ld, entry, &ber, &dn) != LDAP_SUCCESS) {
    if (ber != nullptr) ber_free(ber, 0);
    return out;
  }
  berval name{};
  BerVarray vals = nullptr;
  while (ldap_get_attribute_ber(ld, entry, ber, &name, &vals) == LDAP_SUCCESS &&
         name.bv_val != nullptr) {
    auto& list = out[AsciiLower(std::string_view(name.bv_val, name.bv_len))];
    for (BerVarray v = vals; v != nullptr && v->bv_val != nullptr; ++v) {
      list.emplace_back(v->bv_val, v->bv_len);
    }
    if (vals != nullptr) ber_memfree(vals);
    vals = nullptr;
  }
  ber_free(ber, 0);
  return out;
}

std::vector<std::string> Values(const Attributes& attrs, const std::string& name) {
  auto it = attrs.find(AsciiLower(name));
  return it == attrs.end() ? std::vector<std::string>{} : it->second;
}

std::string DnOf(LDAP* ld, LDAPMessage* entry) {
  char* dn = ldap_get_dn(ld, entry);
  std::string out = dn != nullptr ? dn : "";
  if (dn != nullptr) ldap_memfree(dn);
  return out;
}

void BlockSigpipeOnThisThread() {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
}

std::unique_ptr<Connection> ConnectionPool::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.empty()) return nullptr;
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void ConnectionPool::GiveBack(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn->generation() == generation_ && idle_.size() < max_idle_) {
    idle_.push_back(std::move(conn));
  }
}

void ConnectionPool::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();
  ++generation_;
}

uint64_t ConnectionPool::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

}  // namespace sg::ldap
