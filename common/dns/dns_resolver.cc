#include "common/dns/dns_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "common/dns/dns_answer.h"

namespace sg::dns {
namespace {

std::once_flag g_ares_init;

Error AresError(int status, const std::string& what) {
  ErrorCode code = ErrorCode::kUnavailable;
  if (status == ARES_ENOTFOUND) code = ErrorCode::kNotFound;
  if (status == ARES_ETIMEOUT) code = ErrorCode::kTimeout;
  if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) code = ErrorCode::kCancelled;
  return MakeError(code, what + ": " + ares_strerror(status));
}

}  // namespace

struct CaresResolver::Impl {
  uv_loop_t* loop = nullptr;
  bool trust_ad = false;
  ares_channel channel = nullptr;
  uv_timer_t* timer = nullptr;
  std::map<ares_socket_t, uv_poll_t*> polls;
  bool shut_down = false;

  static void SockState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    auto it = self->polls.find(fd);
    if (!readable && !writable) {
      if (it != self->polls.end()) {
        uv_poll_stop(it->second);
        uv_close(reinterpret_cast<uv_handle_t*>(it->second),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
        self->polls.erase(it);
      }
      return;
    }
    uv_poll_t* poll;
    if (it == self->polls.end()) {
      poll = new uv_poll_t;
      uv_poll_init_socket(self->loop, poll, fd);
      poll->data = self;
      self->polls[fd] = poll;
    } else {
      poll = it->second;
    }
    int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
    uv_poll_start(poll, events, [](uv_poll_t* p, int status, int ev) {
      auto* impl = static_cast<Impl*>(p->data);
      ares_socket_t s = -1;
      for (auto& [k, v] : impl->polls) {
        if (v == p) s = k;
      }
      if (s < 0) return;
      if (status < 0) ev = UV_READABLE | UV_WRITABLE;  // let c-ares see the error
      ares_process_fd(impl->channel, (ev & UV_READABLE) ? s : ARES_SOCKET_BAD,
                      (ev & UV_WRITABLE) ? s : ARES_SOCKET_BAD);
      impl->ArmTimer();
    });
  }

  void ArmTimer() {
    if (shut_down) return;
    struct timeval tv {};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {
      uv_timer_stop(timer);
      return;
    }
    uint64_t ms = static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
    uv_timer_start(
        timer,
        [](uv_timer_t* t) {
          auto* impl = static_cast<Impl*>(t->data);
          ares_process_fd(impl->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
          impl->ArmTimer();
        },
        ms + 1, 0);
  }
};

CaresResolver::CaresResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CaresResolver::~CaresResolver() { Shutdown(); }

Result<std::unique_ptr<CaresResolver>> CaresResolver::Create(uv_loop_t* loop,
                                                             const ResolverOptions& config) {
  std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  if (config.trust_ad && config.servers.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     config.config_key +
                         ": trusting the AD bit needs explicit servers (a local validating "
                         "resolver such as unbound on 127.0.0.1); fix: list it, the AD bit of "
                         "resolv.conf's servers is never trusted");
  }
  auto impl = std::make_unique<Impl>();
  impl->loop = loop;
  impl->trust_ad = config.trust_ad;
  ares_options opts{};
  opts.sock_state_cb = &Impl::SockState;
  opts.sock_state_cb_data = impl.get();
  opts.timeout = static_cast<int>(std::max<int64_t>(100, config.timeout.count() / 2));
  opts.tries = 2;
  // EDNS (RFC 6891) on every query, with the DNS flag day 2020 buffer size:
  // without it c-ares takes a UDP answer over 512 bytes (an SMIMEA record
  // holding a certificate) for truncated and retries over TCP.
  opts.flags = ARES_FLAG_EDNS;
  opts.ednspsz = kEdnsUdpSize;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
             ARES_OPT_EDNSPSZ;
  int rc = ares_init_options(&impl->channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    return MakeError(ErrorCode::kUnavailable,
                     config.config_key + ": c-ares init: " + std::string(ares_strerror(rc)));
  }
  if (!config.servers.empty()) {
    std::string csv;
    for (const auto& s : config.servers) {
      if (!csv.empty()) csv += ',';
      bool v6 = s.host.find(':') != std::string::npos;
      csv += (v6 ? "[" + s.host + "]" : s.host) + ":" + std::to_string(s.port);
    }
    rc = ares_set_servers_ports_csv(impl->channel, csv.c_str());
    if (rc != ARES_SUCCESS) {
      ares_destroy(impl->channel);
      return MakeError(ErrorCode::kInvalidArgument,
                       config.config_key + ": " + csv + ": " + ares_strerror(rc));
    }
  }
  impl->timer = new uv_timer_t;
  uv_timer_init(loop, impl->timer);
  impl->timer->data = impl.get();
  return std::unique_ptr<CaresResolver>(new CaresResolver(std::move(impl)));
}

void CaresResolver::Shutdown() {
  if (impl_ == nullptr || impl_->shut_down) return;
  ares_cancel(impl_->channel);  // runs pending callbacks with ARES_ECANCELLED
  impl_->shut_down = true;
  ares_destroy(impl_->channel);  // closes sockets through SockState
  for (auto& [fd, poll] : impl_->polls) {
    uv_poll_stop(poll);
    uv_close(reinterpret_cast<uv_handle_t*>(poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  impl_->polls.clear();
  uv_timer_stop(impl_->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(impl_->timer),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

void CaresResolver::ResolveMx(const std::string& domain, MxCallback done) {
  if (impl_->shut_down) {
    done(MakeError(ErrorCode::kCancelled, "resolver shut down"));
    return;
  }
  struct Ctx {
    MxCallback done;
    std::string domain;
  };
  auto* ctx = new Ctx{std::move(done), domain};
  ares_query(
      impl_->channel, domain.c_str(), ns_c_in, ns_t_mx,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<Ctx> c(static_cast<Ctx*>(arg));
        if (status == ARES_ENODATA) {
          c->done(std::vector<MxRecord>{});
          return;
        }
        if (status != ARES_SUCCESS) {
          c->done(AresError(status, "MX lookup of " + c->domain));
          return;
        }
        ares_mx_reply* mx = nullptr;
        int prc = ares_parse_mx_reply(abuf, alen, &mx);
        if (prc == ARES_ENODATA) {
          c->done(std::vector<MxRecord>{});
          return;
        }
        if (prc != ARES_SUCCESS) {
          c->done(AresError(prc, "MX reply for " + c->domain));
          return;
        }
        std::vector<MxRecord> out;
        for (auto* p = mx; p != nullptr; p = p->next) {
          out.push_back(MxRecord{p->host, p->priority});
        }
        ares_free_data(mx);
        std::stable_sort(out.begin(), out.end(), [](const MxRecord& a, const MxRecord& b) {
          return a.preference < b.preference;
        });
        c->done(std::move(out));
      },
      ctx);
  impl_->ArmTimer();
}

void CaresResolver::ResolveAddress(const std::string& host, uint16_t port, AddrCallback done) {
  if (impl_->shut_down) {
    done(MakeError(ErrorCode::kCancelled, "resolver shut down"));
    return;
  }
  struct Ctx {
    AddrCallback done;
    std::string host;
    uint16_t port;
  };
  // IP literals need no DNS.
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    done(std::vector<sockaddr_storage>{ss});
    return;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    done(std::vector<sockaddr_storage>{ss});
    return;
  }
  auto* ctx = new Ctx{std::move(done), host, port};
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(
      impl_->channel, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* res) {
        std::unique_ptr<Ctx> c(static_cast<Ctx*>(arg));
        if (status != ARES_SUCCESS) {
          if (res != nullptr) ares_freeaddrinfo(res);
          c->done(AresError(status, "address lookup of " + c->host));
          return;
        }
        std::vector<sockaddr_storage> out;
        for (auto* n = res->nodes; n != nullptr; n = n->ai_next) {
          sockaddr_storage s{};
          if (n->ai_addrlen > sizeof(s)) continue;
          std::memcpy(&s, n->ai_addr, n->ai_addrlen);
          if (s.ss_family == AF_INET) {
            reinterpret_cast<sockaddr_in*>(&s)->sin_port = htons(c->port);
          } else if (s.ss_family == AF_INET6) {
            reinterpret_cast<sockaddr_in6*>(&s)->sin6_port = htons(c->port);
          } else {
            continue;
          }
          out.push_back(s);
        }
        ares_freeaddrinfo(res);
        if (out.empty()) {
          c->done(MakeError(ErrorCode::kNotFound, "no address for " + c->host));
          return;
        }
        c->done(std::move(out));
      },
      ctx);
  impl_->ArmTimer();
}

void CaresResolver::ResolveTxt(const std::string& name, TxtCallback done) {
  if (impl_->shut_down) {
    done(MakeError(ErrorCode::kCancelled, "resolver shut down"));
    return;
  }
  struct Ctx {
    TxtCallback done;
    std::string name;
  };
  auto* ctx = new Ctx{std::move(done), name};
  ares_query(
      impl_->channel, name.c_str(), ns_c_in, ns_t_txt,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<Ctx> c(static_cast<Ctx*>(arg));
        if (status == ARES_ENODATA) {
          c->done(std::vector<std::string>{});
          return;
        }
        if (status != ARES_SUCCESS) {
          c->done(AresError(status, "TXT lookup of " + c->name));
          return;
        }
        ares_txt_ext* txt = nullptr;
        int prc = ares_parse_txt_reply_ext(abuf, alen, &txt);
        if (prc == ARES_ENODATA) {
          c->done(std::vector<std::string>{});
          return;
        }
        if (prc != ARES_SUCCESS) {
          c->done(AresError(prc, "TXT reply for " + c->name));
          return;
        }
        // A record's character-strings follow each other; record_start marks
        // the first string of each record.
        std::vector<std::string> out;
        for (auto* p = txt; p != nullptr; p = p->next) {
          if (p->record_start != 0 || out.empty()) out.emplace_back();
          out.back().append(reinterpret_cast<const char*>(p->txt), p->length);
        }
        ares_free_data(txt);
        c->done(std::move(out));
      },
      ctx);
  impl_->ArmTimer();
}

void CaresResolver::ResolveAuthenticated(const std::string& name, uint16_t qtype,
                                         AuthenticatedCallback done) {
  if (impl_->shut_down) {
    done(MakeError(ErrorCode::kCancelled, "resolver shut down"));
    return;
  }
  auto query = BuildAuthenticatedQuery(name, qtype);
  if (!query.ok()) {
    done(std::move(query).error());
    return;
  }
  struct Ctx {
    AuthenticatedCallback done;
    std::string name;
    uint16_t qtype;
    bool trust_ad;
  };
  auto* ctx = new Ctx{std::move(done), name, qtype, impl_->trust_ad};
  // ares_send, not ares_query: the AD and DO bits must be in the query, and
  // the answer's own header (AD, RCODE) is needed as received.
  ares_send(
      impl_->channel, reinterpret_cast<const unsigned char*>(query->data()),
      static_cast<int>(query->size()),
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<Ctx> c(static_cast<Ctx*>(arg));
        const std::string what = "lookup of " + c->name + " type " + std::to_string(c->qtype);
        if (status != ARES_SUCCESS) {
          c->done(AresError(status, what));
          return;
        }
        auto parsed = ParseAuthenticatedAnswer(
            std::string_view(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen)),
            c->qtype);
        if (!parsed.ok()) {
          c->done(MakeError(parsed.error().code, what + ": " + parsed.error().message));
          return;
        }
        AuthenticatedAnswer out;
        out.authenticated = parsed->ad && c->trust_ad;
        out.name_exists = parsed->name_exists;
        out.ttl = parsed->ttl;
        out.rdata = std::move(parsed->rdata);
        out.canonical_name = std::move(parsed->canonical_name);
        c->done(std::move(out));
      },
      ctx);
  impl_->ArmTimer();
}

}  // namespace sg::dns
