// Fuzz target for the whole transport-independent session: arbitrary client
// bytes, fed in arbitrary chunks, with STARTTLS completions, AUTH and queue
// acks interleaved. Checks: no crash or hang, every reply line is well
// formed, and no message is recorded without its 250 (nor a 250 without it).
// Every queued record parses again (protobuf refuses strings that are not
// UTF-8). Envelope properties (DESIGN.md invariant 6): mail on the MX listener is
// only ever queued for hosted domains, mail on the relay listener only from
// an authorised client (a trusted network or AUTH as alice, password "x");
// every record has 1..max_recipients recipients and the direction of its
// listener.
#include <argon2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "ingress/smtp_session.h"
#include "tests/ingress/fake_session_host.h"
#include "tests/support/fuzz_check.h"

namespace {

void Check(bool cond) {
  if (!cond) std::abort();
}

struct Fixture {
  Fixture() {
    spdlog::set_level(spdlog::level::off);  // millions of sessions: no logs
    cfg.hostname = "gw.example.org";
    cfg.max_message_size = 8192;
    cfg.max_recipients = 4;
    cfg.max_bad_commands = 50;
    cfg.tls_available = true;
    cfg.auth_enabled = true;
    sg::ingress::PolicyConfig policy;
    policy.hosted_domains = {"example.org"};
    steps = sg::ingress::BuildSteps(cfg, policy);
    relay_cfg = cfg;
    relay_cfg.role = sg::ingress::Role::kRelay;
    relay_steps = sg::ingress::BuildSteps(relay_cfg, policy);
    auth = std::make_unique<sg::ingress::Argon2Authenticator>(
        std::map<std::string, std::string>{{"alice", CheapHash("x")}});
  }
  // A real argon2id hash at the lowest cost, so AUTH can succeed cheaply.
  static std::string CheapHash(const std::string& password) {
    char encoded[128];
    const char salt[] = "saltsalt";
    if (argon2id_hash_encoded(1, 8, 1, password.data(), password.size(), salt, sizeof salt - 1, 16,
                              encoded, sizeof encoded) != ARGON2_OK) {
      std::abort();
    }
    return encoded;
  }
  sg::ingress::SessionConfig cfg, relay_cfg;
  std::vector<std::shared_ptr<sg::ingress::SessionStep>> steps, relay_steps;
  std::unique_ptr<sg::ingress::Argon2Authenticator> auth;
  sg::ingress::testing::CountingIds ids;
};

size_t CountQueued(const std::string& out) {
  size_t n = 0, pos = 0;
  while ((pos = out.find("250 2.0.0 Ok: queued as", pos)) != std::string::npos) {
    ++n;
    ++pos;
  }
  return n;
}

std::string LowerDomainOf(const std::string& address) {
  std::string d = address.substr(address.rfind('@') + 1);
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
  return d;
}

void CheckEnvelope(const smimegate::v1::MessageRecord& rec, bool relay, bool trusted,
                   size_t max_recipients) {
  const auto& env = rec.envelope();
  SG_FUZZ_CHECK(env.recipients_size() >= 1 &&
                static_cast<size_t>(env.recipients_size()) <= max_recipients);
  if (relay) {
    SG_FUZZ_CHECK(env.direction() == smimegate::v1::DIRECTION_OUTBOUND);
    // Authorised: a trusted network, or AUTH (no client certificates here).
    SG_FUZZ_CHECK(trusted || env.auth_identity() == "alice");
  } else {
    SG_FUZZ_CHECK(env.direction() == smimegate::v1::DIRECTION_INBOUND);
    for (const auto& r : env.recipients())
      SG_FUZZ_CHECK(LowerDomainOf(r.address()) == "example.org");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  if (size < 3) return 0;
  const bool relay = data[0] & 1;
  using Host = sg::ingress::testing::FakeSessionHost;
  Host host;
  host.ack_mode = static_cast<Host::AckMode>(data[1] % 4);
  sg::ingress::SessionDeps deps{relay ? &fx.relay_cfg : &fx.cfg,
                                relay ? &fx.relay_steps : &fx.steps, fx.auth.get(), &fx.ids,
                                nullptr};
  std::string all_out;
  {
    sg::ingress::Session s(deps, "192.0.2.1", 1234, data[0] & 2, host);
    s.Start();
    const size_t chunk = 1 + data[2] % 64;
    size_t pos = 3;
    int tls_seen = 0;
    while (pos < size && !host.closed) {
      size_t n = std::min(chunk, size - pos);
      s.Feed(std::string_view(reinterpret_cast<const char*>(data) + pos, n));
      pos += n;
      if (host.tls_started > tls_seen) {
        tls_seen = host.tls_started;
        sg::ingress::TlsState tls;
        tls.active = true;
        tls.version = "TLSv1.3";
        s.OnTlsUp(tls);
      }
      while (!host.held.empty()) host.ReleaseHeld(data[pos % size] & 1);
    }
    all_out = host.Take();
  }
  // Every line: three digits then ' ' or '-'.
  size_t p = 0;
  while (p < all_out.size()) {
    size_t eol = all_out.find("\r\n", p);
    Check(eol != std::string::npos);
    Check(eol - p >= 4 || eol - p == 3);
    for (size_t i = 0; i < 3; ++i) Check(all_out[p + i] >= '0' && all_out[p + i] <= '9');
    if (eol - p > 3) Check(all_out[p + 3] == ' ' || all_out[p + 3] == '-');
    p = eol + 2;
  }
  Check(CountQueued(all_out) == host.records.size());
  for (const auto& queued : host.records) {
    // What ingress queued, the workers can read (else: dead letter after a 250).
    smimegate::v1::MessageRecord rec;
    SG_FUZZ_CHECK(rec.ParseFromString(queued.value));
    CheckEnvelope(rec, relay, data[0] & 2, fx.cfg.max_recipients);
  }
  return 0;
}
