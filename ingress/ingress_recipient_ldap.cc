#include "ingress/ingress_recipient_ldap.h"

#include <ldap.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace sg::ingress {
namespace {

struct timeval TimevalOf(std::chrono::milliseconds d) {
  struct timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

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

// Remembers the connection's socket as soon as libldap has connected it
// (ConnectWatchdog below needs it).
int RememberSocket(LDAP*, Sockbuf* sb, LDAPURLDesc*, struct sockaddr*, struct ldap_conncb* ctx) {
  int fd = -1;
  if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0) {
    static_cast<std::atomic<int>*>(ctx->lc_arg)->store(fd);
  }
  return 0;
}

// libldap bounds the TCP connect and each operation's wait, but not the TLS
// handshake of ldaps:// (or after StartTLS) with a peer that accepts and
// never answers: 2.5 with GnuTLS blocks there for ever. So Connect() runs
// under a deadline; when it passes, the socket is shut down, which ends the
// handshake with an error. Cancelled (and joined) before Connect() returns,
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

void NoCleanup(LDAP*, Sockbuf*, struct ldap_conncb*) {}

}  // namespace

Result<std::string> LdapFilterFor(const std::string& filter_template, const std::string& address) {
  struct berval in{};
  in.bv_val = const_cast<char*>(address.data());
  in.bv_len = address.size();
  struct berval out{};
  if (ldap_bv2escaped_filter_value(&in, &out) != 0 || out.bv_val == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "ldap: cannot escape the address for a filter");
  }
  const std::string escaped(out.bv_val, out.bv_len);
  ber_memfree(out.bv_val);
  std::string filter;
  for (size_t i = 0; i < filter_template.size(); ++i) {
    if (filter_template.compare(i, 2, "%s") == 0) {
      filter += escaped;
      ++i;
    } else {
      filter += filter_template[i];
    }
  }
  return filter;
}

Status ValidateLdapConfig(const LdapConfig& c, const std::string& where) {
  auto bad = [&where](const std::string& key, const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "config " + where + "." + key + ": " + why);
  };
  if (!StartsWith(c.url, "ldap://") && !StartsWith(c.url, "ldaps://")) {
    return bad("url", "must start with ldap:// or ldaps:// (got \"" + c.url + "\")");
  }
  if (c.base_dn.empty()) return bad("base_dn", "missing");
  if (c.filter.find("%s") == std::string::npos) {
    return bad("filter", "must contain %s (where the escaped address goes)");
  }
  int depth = 0;
  for (char ch : c.filter) {
    depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (c.filter.front() != '(' || depth != 0) {
    return bad("filter", "must be one parenthesised RFC 4515 filter, e.g. (mail=%s)");
  }
  if (!c.bind_dn.empty() && c.bind_password_file.empty()) {
    return bad("bind_password_file", "missing (bind_dn is set)");
  }
  if (c.timeout.count() <= 0) return bad("timeout", "must be greater than zero");
  return OkStatus();
}

struct LdapSource::Conn {
  LDAP* ld = nullptr;
  std::atomic<int> fd{-1};  // the socket, once connected
  ldap_conncb callbacks{};  // must outlive ld (libldap keeps the pointer)
  uint64_t generation = 0;
  ~Conn() {
    if (ld != nullptr) ldap_unbind_ext_s(ld, nullptr, nullptr);
  }
};

LdapSource::LdapSource(LdapConfig config, std::string where)
    : config_(std::move(config)), where_(std::move(where)) {}

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
  std::lock_guard<std::mutex> lock(mu_);
  password_ = std::move(password);
  idle_.clear();
  ++generation_;
  return OkStatus();
}

Result<std::unique_ptr<LdapSource::Conn>> LdapSource::Connect() {
  auto fail = [this](const std::string& what, int rc) {
    return MakeError(ErrorCode::kUnavailable,
                     "ldap " + config_.url + ": " + what + ": " + ldap_err2string(rc));
  };
  auto conn = std::make_unique<Conn>();
  // Connect, handshake and bind are bounded by `timeout` each; the whole
  // by three (see ConnectWatchdog).
  ConnectWatchdog watchdog(conn->fd, 3 * config_.timeout);
  std::string password;
  {
    std::lock_guard<std::mutex> lock(mu_);
    password = password_;
    conn->generation = generation_;
  }
  int rc = ldap_initialize(&conn->ld, config_.url.c_str());
  if (rc != LDAP_SUCCESS) return fail("initialise", rc);
  const int v3 = LDAP_VERSION3;
  const struct timeval tv = TimevalOf(config_.timeout);
  const int demand = LDAP_OPT_X_TLS_DEMAND;
  const int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
  const int new_ctx = 0;
  conn->callbacks.lc_add = RememberSocket;
  conn->callbacks.lc_del = NoCleanup;
  conn->callbacks.lc_arg = &conn->fd;
  ldap_set_option(conn->ld, LDAP_OPT_CONNECT_CB, &conn->callbacks);
  ldap_set_option(conn->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(conn->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(conn->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(conn->ld, LDAP_OPT_TIMEOUT, &tv);
  ldap_set_option(conn->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
  ldap_set_option(conn->ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12);
  if (!config_.tls_ca_file.empty()) {
    ldap_set_option(conn->ld, LDAP_OPT_X_TLS_CACERTFILE, config_.tls_ca_file.c_str());
  }
  rc = ldap_set_option(conn->ld, LDAP_OPT_X_TLS_NEWCTX, &new_ctx);
  if (rc != LDAP_OPT_SUCCESS) return fail("TLS settings", rc);
  if (StartsWith(config_.url, "ldap://") && config_.starttls) {
    rc = ldap_start_tls_s(conn->ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return fail("StartTLS", rc);
  }
  if (!config_.bind_dn.empty()) {
    struct berval cred{};
    cred.bv_val = password.data();
    cred.bv_len = password.size();
    rc = ldap_sasl_bind_s(conn->ld, config_.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                          nullptr, nullptr);
    // The password itself never appears in an error or a log line.
    if (rc != LDAP_SUCCESS) return fail("bind as " + config_.bind_dn, rc);
  }
  return conn;
}

RecipientStatus LdapSource::Search(Conn& conn, const std::string& filter, bool& broken) {
  std::string attr_none = "1.1";  // RFC 4511: no attributes, the DN only
  std::array<char*, 2> attrs{attr_none.data(), nullptr};
  struct timeval tv = TimevalOf(config_.timeout);
  LDAPMessage* res = nullptr;
  // The timeout bounds the wait here and is sent as the server's time limit.
  const int rc = ldap_search_ext_s(conn.ld, config_.base_dn.c_str(), LDAP_SCOPE_SUBTREE,
                                   filter.c_str(), attrs.data(), 0, nullptr, nullptr, &tv, 2, &res);
  int entries = res != nullptr ? ldap_count_entries(conn.ld, res) : 0;
  if (res != nullptr) ldap_msgfree(res);
  if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
    return entries > 0 ? RecipientStatus::kKnown : RecipientStatus::kUnknown;
  }
  // No such base DN: the directory is misconfigured, not the address unknown.
  broken = rc != LDAP_NO_SUCH_OBJECT;
  spdlog::warn("ingress: ldap {} search under {} failed: {}", config_.url, config_.base_dn,
               ldap_err2string(rc));
  return RecipientStatus::kUnavailable;
}

std::unique_ptr<LdapSource::Conn> LdapSource::TakeIdle() {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.empty()) return nullptr;
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void LdapSource::GiveBack(std::unique_ptr<Conn> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  // A connection from before a Reload binds with the old password: dropped.
  if (conn->generation == generation_ && idle_.size() < config_.max_idle) {
    idle_.push_back(std::move(conn));
  }
}

RecipientStatus LdapSource::Lookup(const std::string& address) {
  // libldap writes with plain write(): a directory that closed a kept
  // connection would raise SIGPIPE and kill the process. SIGPIPE from a
  // write goes to the writing thread, so blocking it here (the recipient
  // pool's thread; it stays blocked) turns it into EPIPE for libldap.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  auto filter = LdapFilterFor(config_.filter, address);
  if (!filter.ok()) return RecipientStatus::kUnavailable;  // cannot ask: never a 550
  // A kept connection may have been closed by the server meanwhile: one
  // more try on a fresh connection before "unavailable".
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Conn> conn = TakeIdle();
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
      GiveBack(std::move(conn));
      return s;
    }
    if (!reused) return s;
  }
  return RecipientStatus::kUnavailable;
}

}  // namespace sg::ingress
