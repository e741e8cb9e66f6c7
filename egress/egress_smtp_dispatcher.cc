#include "egress/egress_smtp_dispatcher.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <set>

#include "common/ascii.h"

namespace sg::egress {

struct SmtpDispatcher::Slot {
  Destination* dest = nullptr;
  std::unique_ptr<SmtpSession> session;
  bool ready = false;
  bool busy = false;
  int messages = 0;
  uv_timer_t* idle_timer = nullptr;
  std::optional<SmtpJob> job;
  // Host candidates while opening.
  std::vector<HostPort> hosts;
  size_t host_index = 0;
  std::vector<sockaddr_storage> addrs;
  size_t addr_index = 0;
  Error last_error{ErrorCode::kUnavailable, "no host to try"};
  int fail_code = 451;
  // Addresses the destination policy refused, and whether anything else failed.
  size_t refused = 0;
  bool refused_self = false;
  std::string refused_text;
  bool other_failure = false;
  // The MTA-STS policy in force for an MX destination (null: none).
  std::shared_ptr<const StsPolicy> sts;
  // DANE for the current host (egress_dane.h): kDane with its target,
  // kUnusable (TLS required, unauthenticated), or kNone.
  DaneOutcome dane = DaneOutcome::kNone;
  std::shared_ptr<const DaneTarget> dane_target;
  // The domain's MX RRset was asked for with the AD bit, and validated.
  bool mx_checked = false;
  bool mx_secure = false;
  // MX hosts an MTA-STS policy in enforce mode does not list, kept because
  // DANE may authenticate them (RFC 8461 2): used only with usable TLSA records.
  std::set<std::string> dane_only;
};

struct SmtpDispatcher::Destination {
  std::string key;
  const RouteConfig* route = nullptr;
  std::string domain;
  std::deque<SmtpJob> queue;
  std::vector<std::unique_ptr<Slot>> slots;
};

SmtpDispatcher::SmtpDispatcher(uv_loop_t* loop, const SmtpClientConfig& config,
                               Resolver& resolver, EgressMetrics& metrics,
                               const DestinationPolicy& policy)
    : loop_(loop), config_(config), resolver_(resolver), metrics_(metrics), policy_(policy) {}

SmtpDispatcher::~SmtpDispatcher() { Shutdown(); }

bool StsApplies(const RouteConfig& route) {
  return route.transport == TransportKind::kMx && route.tls.mode != TlsMode::kNone &&
         !route.tls.verify;
}

size_t SmtpDispatcher::OpenSessions() const {
  size_t n = 0;
  for (const auto& [k, d] : destinations_) n += d->slots.size();
  return n;
}

Result<std::shared_ptr<TlsClientContext>> SmtpDispatcher::ContextFor(const RouteConfig& route) {
  const std::string key = RouteKey(route);
  auto it = tls_contexts_.find(key);
  if (it != tls_contexts_.end()) return it->second;
  SG_ASSIGN_OR_RETURN(auto ctx, TlsClientContext::Create(route.tls));
  tls_contexts_[key] = ctx;
  return ctx;
}

void SmtpDispatcher::Submit(const std::string& destination_key, SmtpJob job) {
  if (shut_down_) {
    SmtpJobResult r;
    r.result.recipients.assign(job.txn.recipients.size(),
                               RecipientOutcome{421, "4.3.2 egress is shutting down"});
    job.done(std::move(r));
    return;
  }
  auto& dest = destinations_[destination_key];
  if (dest == nullptr) {
    dest = std::make_unique<Destination>();
    dest->key = destination_key;
    dest->route = job.route;
    dest->domain = job.domain;
  }
  dest->queue.push_back(std::move(job));
  Pump(*dest);
}

void SmtpDispatcher::Pump(Destination& dest) {
  while (!dest.queue.empty() && !shut_down_) {
    // A cached session the server closed meanwhile (its idle timeout, a
    // restart) is dropped here; handing it the job would defer the message
    // with 421 and send it through the retry topic.
    for (bool again = true; again;) {
      again = false;
      for (auto& s : dest.slots) {
        if (s->ready && !s->busy && !s->session->usable()) {
          CloseSlot(*s);  // erases it from dest.slots: look again
          again = true;
          break;
        }
      }
    }
    Slot* idle = nullptr;
    for (auto& s : dest.slots) {
      if (s->ready && !s->busy) {
        idle = s.get();
        break;
      }
    }
    if (idle != nullptr) {
      SmtpJob job = std::move(dest.queue.front());
      dest.queue.pop_front();
      RunJob(*idle, std::move(job));
      continue;
    }
    // One opening session per queued job at most, within the limit.
    size_t opening = 0;
    for (auto& s : dest.slots) opening += s->ready ? 0 : 1;
    if (dest.slots.size() < static_cast<size_t>(dest.route->max_connections) &&
        opening < dest.queue.size()) {
      OpenSlot(dest);
      continue;
    }
    break;
  }
}

void SmtpDispatcher::OpenSlot(Destination& dest) {
  auto slot_owner = std::make_unique<Slot>();
  Slot* slot = slot_owner.get();
  slot->dest = &dest;
  dest.slots.push_back(std::move(slot_owner));
  const RouteConfig& route = *dest.route;

  auto ctx = ContextFor(route);
  if (!ctx.ok()) {
    slot->last_error = ctx.error();
    slot->fail_code = 451;
    // Report on the next loop turn would be nicer; failing now is equivalent here.
    FailQueued(dest, 451, "4.7.5 " + ctx.error().message);
    CloseSlot(*slot);
    return;
  }

  // Tries hosts and their addresses in order until one session opens.
  auto try_next = std::make_shared<std::function<void()>>();
  *try_next = [this, slot, try_next]() {
    if (shut_down_) return;
    if (slot->addr_index < slot->addrs.size()) {
      const sockaddr_storage& addr = slot->addrs[slot->addr_index++];
      const std::string& host = slot->hosts[slot->host_index - 1].host;
      auto tls = SessionTls(*slot);
      if (!tls.ok()) {
        slot->last_error = tls.error();
        slot->fail_code = 454;
        slot->other_failure = true;
        slot->addr_index = slot->addrs.size();
        slot->host_index = slot->hosts.size();
        auto next = *try_next;
        next();
        return;
      }
      slot->session = std::make_unique<SmtpSession>(loop_, config_, tls->first, tls->second);
      if (slot->dane_target) slot->session->SetDane(slot->dane_target);
      slot->session->Open(host, reinterpret_cast<const sockaddr*>(&addr),
                          [this, slot, try_next](Status st) {
                            Destination& dd = *slot->dest;
                            CountTls(*slot, *slot->session);
                            if (st.ok()) {
                              slot->ready = true;
                              metrics_.ConnectionOpened(dd.route->name, slot->session->tls_active());
                              *try_next = nullptr;  // break the self-reference
                              Pump(dd);
                              return;
                            }
                            metrics_.ConnectionFailed(dd.route->name);
                            spdlog::info("egress: {} host {}: {}", dd.key, slot->session->host(),
                                         st.error().message);
                            slot->other_failure = true;
                            if (st.error().code == ErrorCode::kPermissionDenied ||
                                (slot->dane != DaneOutcome::kNone &&
                                 !slot->session->tls_failure().empty())) {
                              slot->fail_code = 454;  // TLS policy: 4.7.5
                            }
                            slot->last_error = st.error();
                            slot->session.reset();
                            auto next = *try_next;
                            next();
                          });
      return;
    }
    if (slot->host_index < slot->hosts.size()) {
      const HostPort hp = slot->hosts[slot->host_index++];
      slot->addrs.clear();
      slot->addr_index = 0;
      slot->dane = DaneOutcome::kNone;
      slot->dane_target.reset();
      if (dane_ != nullptr && slot->mx_secure && StsApplies(*slot->dest->route)) {
        DaneForHost(*slot, hp, try_next);
      } else {
        ResolveHost(*slot, hp, try_next);
      }
      return;
    }
    *try_next = nullptr;
    AllHostsFailed(*slot);
  };

  if (route.transport == TransportKind::kSmtp) {
    slot->hosts = route.hosts;
    auto first = *try_next;  // a copy: the original may be reset while it runs
    first();
    return;
  }
  if (mta_sts_ == nullptr || !StsApplies(route)) {
    ResolveMxHosts(*slot, try_next);
    return;
  }
  mta_sts_->PolicyFor(dest.domain, [this, slot, try_next](StsLookup lookup) {
    if (shut_down_) return;
    slot->sts = std::move(lookup.policy);
    if (!lookup.failure.empty()) metrics_.TlsSession("sts", lookup.failure);
    ResolveMxHosts(*slot, try_next);
  });
}

void SmtpDispatcher::ResolveHost(Slot& slot_ref, const HostPort& hp,
                                 const std::shared_ptr<std::function<void()>>& try_next) {
  Slot* slot = &slot_ref;
  resolver_.ResolveAddress(hp.host, hp.port,
                           [this, slot, try_next](Result<std::vector<sockaddr_storage>> r) {
                             if (shut_down_) return;
                             if (r.ok()) {
                               slot->addrs = std::move(*r);
                               FilterAddresses(*slot, slot->hosts[slot->host_index - 1].host);
                             } else {
                               slot->last_error = r.error();
                               slot->other_failure = true;
                             }
                             auto next = *try_next;
                             next();
                           });
}

void SmtpDispatcher::DaneForHost(Slot& slot_ref, const HostPort& hp,
                                 const std::shared_ptr<std::function<void()>>& try_next) {
  Slot* slot = &slot_ref;
  dane_->PolicyFor(hp.host, [this, slot, hp, try_next](DaneLookup lookup) {
    if (shut_down_) return;
    if (lookup.outcome == DaneOutcome::kBogus) {
      // RFC 7672 2.2.2: a host whose TLSA (or address) look-up failed is not used.
      metrics_.TlsSession("tlsa", "dnssec-invalid");
      metrics_.ConnectionFailed(slot->dest->route->name);
      slot->fail_code = 454;
      slot->other_failure = true;
      slot->last_error =
          MakeError(ErrorCode::kUnavailable, "DANE: the DNSSEC look-up for MX host " + hp.host +
                                                 " failed (" + lookup.reason + "); host not used");
      auto next = *try_next;
      next();
      return;
    }
    if (lookup.outcome != DaneOutcome::kDane && slot->dane_only.contains(hp.host)) {
      // Outside the MTA-STS policy, and DANE does not authenticate it either.
      metrics_.TlsSession("sts", "validation-failure");
      spdlog::warn(
          "egress: {} MX host {} is not in the domain's MTA-STS policy (mode enforce) "
          "and has no usable TLSA records ({}): not used",
          slot->dest->key, hp.host, lookup.reason);
      slot->fail_code = 454;
      slot->other_failure = true;
      slot->last_error = MakeError(
          ErrorCode::kPermissionDenied,
          "MX host " + hp.host + " is not in the MTA-STS policy of " + slot->dest->domain +
              " (mode enforce) and has no usable DNSSEC-validated TLSA records");
      auto next = *try_next;
      next();
      return;
    }
    slot->dane = lookup.outcome;
    if (lookup.outcome == DaneOutcome::kDane) {
      slot->dane_target = std::make_shared<const DaneTarget>(
          DaneTarget{std::move(lookup.records), slot->dest->domain,
                     lookup.base_domain == AsciiLower(hp.host) ? "" : lookup.base_domain});
    } else if (lookup.outcome == DaneOutcome::kUnusable) {
      spdlog::info("egress: {} MX host {}: {}; TLS required without authentication",
                   slot->dest->key, hp.host, lookup.reason);
    }
    ResolveHost(*slot, hp, try_next);
  });
}

void SmtpDispatcher::ResolveMxHosts(Slot& slot_ref,
                                    const std::shared_ptr<std::function<void()>>& try_next) {
  Slot* slot = &slot_ref;
  if (dane_ != nullptr && StsApplies(*slot->dest->route) && !slot->mx_checked) {
    // RFC 7672 2.2.1: DANE only for MX hosts named by a validated MX RRset
    // (or a validated "no MX"). Only the AD bit is used: the hosts come from ResolveMx.
    slot->mx_checked = true;
    constexpr uint16_t kTypeMx = 15;
    resolver_.ResolveAuthenticated(
        slot->dest->domain, kTypeMx, [this, slot, try_next](Result<dns::AuthenticatedAnswer> r) {
          if (shut_down_) return;
          slot->mx_secure = r.ok() && r->authenticated;
          if (!slot->mx_secure) {
            spdlog::debug("egress: {} MX records not validated ({}): no DANE", slot->dest->key,
                          r.ok() ? "AD clear" : r.error().message);
          }
          ResolveMxHosts(*slot, try_next);
        });
    return;
  }
  resolver_.ResolveMx(slot->dest->domain, [this, slot, try_next](Result<std::vector<MxRecord>> r) {
    if (shut_down_) return;
    Destination& d = *slot->dest;
    if (!r.ok()) {
      if (r.error().code == ErrorCode::kNotFound) {
        slot->fail_code = 550;
        slot->last_error = MakeError(ErrorCode::kNotFound,
                                     "5.1.2 domain " + d.domain + " does not exist");
      } else {
        slot->last_error = r.error();
        slot->other_failure = true;
      }
    } else if (r->empty()) {
      slot->hosts.push_back(HostPort{d.domain, d.route->mx_port});  // implicit MX
    } else if (r->size() == 1 && (r->front().host.empty() || r->front().host == ".")) {
      slot->fail_code = 556;
      slot->last_error = MakeError(ErrorCode::kNotFound,
                                   "5.1.10 domain " + d.domain + " accepts no mail (null MX)");
    } else {
      for (const auto& mx : *r) slot->hosts.push_back(HostPort{mx.host, d.route->mx_port});
    }
    ApplyStsMx(*slot);
    auto next = *try_next;
    next();
  });
}

void SmtpDispatcher::ApplyStsMx(Slot& slot) {
  if (slot.sts == nullptr || slot.hosts.empty()) return;
  const bool enforce = slot.sts->mode == StsMode::kEnforce;
  // DANE is asked about every host (DaneForHost): it may take the policy's place.
  const bool dane_may_apply = dane_ != nullptr && slot.mx_secure;
  std::vector<HostPort> kept;
  std::string dropped;
  for (const auto& hp : slot.hosts) {
    if (slot.sts->AllowsMx(hp.host)) {
      kept.push_back(hp);
      continue;
    }
    if (enforce && dane_may_apply) {
      spdlog::info(
          "egress: {} MX host {} is not in the domain's MTA-STS policy (mode enforce): "
          "used only if DANE authenticates it",
          slot.dest->key, hp.host);
      slot.dane_only.insert(hp.host);
      kept.push_back(hp);
      continue;
    }
    metrics_.TlsSession("sts", "validation-failure");
    spdlog::warn("egress: {} MX host {} is not in the domain's MTA-STS policy (mode {}){}",
                 slot.dest->key, hp.host, StsModeName(slot.sts->mode), enforce ? ": not used" : "");
    dropped += (dropped.empty() ? "" : ", ") + hp.host;
    if (!enforce) kept.push_back(hp);
  }
  slot.hosts = std::move(kept);
  if (slot.hosts.empty()) {
    slot.fail_code = 454;
    slot.other_failure = true;
    slot.last_error = MakeError(ErrorCode::kPermissionDenied,
                                "the MTA-STS policy of " + slot.dest->domain +
                                    " (mode enforce) lists none of its MX hosts (" + dropped + ")");
  }
}

Result<std::pair<TlsPolicy, std::shared_ptr<TlsClientContext>>> SmtpDispatcher::SessionTls(
    Slot& slot) {
  const RouteConfig& route = *slot.dest->route;
  if (slot.dane != DaneOutcome::kNone) return DaneTls(slot.dane);
  if (slot.sts == nullptr) {
    SG_ASSIGN_OR_RETURN(auto ctx, ContextFor(route));
    return std::make_pair(route.tls, ctx);
  }
  const bool enforce = slot.sts->mode == StsMode::kEnforce;
  TlsPolicy policy = route.tls;
  if (enforce) {
    policy = TlsPolicy{TlsMode::kRequired, true, sts_config_->ca_file};
  } else {
    policy.ca_file = sts_config_->ca_file;
  }
  const std::string key = enforce ? "mta-sts:enforce" : "mta-sts:testing:" + RouteKey(route);
  auto it = tls_contexts_.find(key);
  if (it != tls_contexts_.end()) return std::make_pair(policy, it->second);
  auto ctx = TlsClientContext::Create(policy, /*audit=*/!enforce);
  if (!ctx.ok()) {
    return MakeError(ctx.error().code, "egress.mta_sts.ca_file: " + ctx.error().message);
  }
  tls_contexts_[key] = *ctx;
  return std::make_pair(policy, *ctx);
}

Result<std::pair<TlsPolicy, std::shared_ptr<TlsClientContext>>> SmtpDispatcher::DaneTls(
    DaneOutcome dane) {
  // DANE wins over MTA-STS for this host (RFC 8461 2); STARTTLS is mandatory either way.
  const bool authenticated = dane == DaneOutcome::kDane;
  const TlsPolicy policy{TlsMode::kRequired, authenticated, ""};
  const std::string key = authenticated ? "dane" : "dane:unusable";
  auto it = tls_contexts_.find(key);
  if (it != tls_contexts_.end()) return std::make_pair(policy, it->second);
  auto ctx = authenticated ? TlsClientContext::CreateDane() : TlsClientContext::Create(policy);
  if (!ctx.ok()) return MakeError(ctx.error().code, "DANE: " + ctx.error().message);
  tls_contexts_[key] = *ctx;
  return std::make_pair(policy, *ctx);
}

void SmtpDispatcher::CountTls(const Slot& slot, const SmtpSession& session) {
  const RouteConfig& route = *slot.dest->route;
  if (route.transport != TransportKind::kMx || route.tls.mode == TlsMode::kNone) return;
  const char* type = slot.dane != DaneOutcome::kNone ? "tlsa"
                     : slot.sts != nullptr           ? "sts"
                                                     : "no-policy-found";
  const std::string& failure = session.tls_failure();
  if (!failure.empty()) {
    metrics_.TlsSession(type, failure);
  } else if (session.tls_active()) {
    metrics_.TlsSession(type, "success");
  }
}

void SmtpDispatcher::FilterAddresses(Slot& slot, const std::string& host) {
  const RouteConfig& route = *slot.dest->route;
  std::vector<sockaddr_storage> kept;
  for (const auto& a : slot.addrs) {
    const auto bytes = AddressBytes(reinterpret_cast<const sockaddr*>(&a));
    auto cls = policy_.Refuses(bytes, route.allowed_networks);
    if (!cls) {
      kept.push_back(a);
      continue;
    }
    ++slot.refused;
    slot.refused_self = slot.refused_self || *cls == AddressClass::kSelf;
    slot.refused_text = "host " + host + ": " + DestinationPolicy::RefusalText(bytes, *cls, route.config_path);
    metrics_.Refused(std::string("destination_") + AddressClassName(*cls));
    spdlog::warn("egress: {} not connecting: {}", slot.dest->key, slot.refused_text);
  }
  slot.addrs = std::move(kept);
}

void SmtpDispatcher::AllHostsFailed(Slot& slot) {
  Destination& dd = *slot.dest;
  std::string status = slot.fail_code == 454 ? "4.7.5 " : "4.4.1 ";
  if (slot.fail_code >= 500) status = "";
  std::string text = status + slot.last_error.message;
  int code = slot.fail_code == 454 ? 451 : slot.fail_code;
  if (slot.refused > 0 && !slot.other_failure && slot.fail_code < 500) {
    // Nothing failed but the policy: where the hosts point is the problem.
    if (dd.route->transport == TransportKind::kMx) {
      code = 554;
      text = (slot.refused_self ? "5.4.6 mail for " + dd.domain + " loops back to this gateway: "
                                : "5.4.4 no mail exchanger of " + dd.domain +
                                      " has an address egress may connect to: ") +
             slot.refused_text;
    } else {
      code = 451;
      text = "4.4.4 no usable address for route " + dd.route->name + ": " + slot.refused_text;
    }
  }
  CloseSlot(slot);
  // Other sessions of this destination may still serve the queue.
  bool others = false;
  for (auto& s : dd.slots) others = others || s->ready;
  if (!others) FailQueued(dd, code, text);
}

void SmtpDispatcher::RunJob(Slot& slot, SmtpJob job) {
  slot.busy = true;
  if (slot.idle_timer != nullptr) uv_timer_stop(slot.idle_timer);
  if (slot.messages > 0) metrics_.ConnectionReused(slot.dest->route->name);
  ++slot.messages;
  slot.job = std::move(job);
  Slot* s = &slot;
  slot.session->Send(slot.job->txn, [this, s](TransactionResult result) {
    SmtpJob finished = std::move(*s->job);
    s->job.reset();
    SmtpJobResult r;
    r.result = std::move(result);
    r.remote_host = s->session->host();
    s->busy = false;
    Destination& dest = *s->dest;
    ReleaseSlot(*s);  // may close the slot
    finished.done(std::move(r));
    Pump(dest);
  });
}

void SmtpDispatcher::ReleaseSlot(Slot& slot) {
  if (shut_down_ || !slot.session->usable() ||
      slot.messages >= config_.max_messages_per_connection) {
    slot.session->Quit();
    CloseSlot(slot);
    return;
  }
  if (slot.idle_timer == nullptr) {
    slot.idle_timer = new uv_timer_t;
    uv_timer_init(loop_, slot.idle_timer);
  }
  slot.idle_timer->data = &slot;
  uv_timer_start(
      slot.idle_timer,
      [](uv_timer_t* t) {
        auto* s = static_cast<Slot*>(t->data);
        // The dispatcher is reachable through nothing but the slot; QUIT and close here.
        s->session->Quit();
        auto& slots = s->dest->slots;
        for (auto it = slots.begin(); it != slots.end(); ++it) {
          if (it->get() == s) {
            uv_close(reinterpret_cast<uv_handle_t*>(s->idle_timer),
                     [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
            s->idle_timer = nullptr;
            slots.erase(it);
            break;
          }
        }
      },
      static_cast<uint64_t>(config_.idle_timeout.count()), 0);
}

void SmtpDispatcher::CloseSlot(Slot& slot) {
  if (slot.idle_timer != nullptr) {
    uv_timer_stop(slot.idle_timer);
    uv_close(reinterpret_cast<uv_handle_t*>(slot.idle_timer),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    slot.idle_timer = nullptr;
  }
  auto& slots = slot.dest->slots;
  for (auto it = slots.begin(); it != slots.end(); ++it) {
    if (it->get() == &slot) {
      // The session closes its connection in its destructor.
      std::unique_ptr<Slot> doomed = std::move(*it);
      slots.erase(it);
      if (doomed->job) {
        SmtpJob job = std::move(*doomed->job);
        SmtpJobResult r;
        r.result.recipients.assign(job.txn.recipients.size(),
                                   RecipientOutcome{421, "4.4.2 session closed"});
        job.done(std::move(r));
      }
      return;
    }
  }
}

void SmtpDispatcher::FailQueued(Destination& dest, int code, const std::string& text) {
  std::deque<SmtpJob> jobs;
  jobs.swap(dest.queue);
  for (auto& job : jobs) {
    SmtpJobResult r;
    r.result.recipients.assign(job.txn.recipients.size(), RecipientOutcome{code, text});
    job.done(std::move(r));
  }
}

void SmtpDispatcher::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [key, dest] : destinations_) {
    FailQueued(*dest, 421, "4.3.2 egress is shutting down");
    while (!dest->slots.empty()) {
      Slot& s = *dest->slots.back();
      if (s.session && s.ready && !s.busy) s.session->Quit();
      CloseSlot(s);
    }
  }
}

}  // namespace sg::egress
