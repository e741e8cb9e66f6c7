// Fuzz target for the whole transport-independent session: arbitrary client
// bytes, fed in arbitrary chunks, with STARTTLS completions, AUTH and queue
// acks interleaved. Checks: no crash or hang, every reply line is well
// formed, no message is recorded without its 250 (nor a 250 without it),
// and every queued message, whether it came by DATA or BDAT, has only CRLF
// line ends and no line longer than max_line_length (issue 13 point 3: no
// smuggling sequence ever reaches the queue). Recipient verification, the
// byte budget and the AUTH/RCPT limits are in the chain too; every byte
// leased from the budget is given back once the session and its acks are
// gone. Every queued record parses again (protobuf refuses strings that are
// not UTF-8). Envelope properties (DESIGN.md invariants 6 and 10): mail on
// the MX listener is only ever queued for verified recipients of hosted
// domains; mail on the relay listener only from an authorised client (a
// trusted network, or AUTH as alice with password "x") and only from a
// hosted domain's sender (or the null sender); every record has
// 1..max_recipients recipients and the direction of its listener.
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

// Knows the recipients whose local part starts with 'k'; "down@" cannot be
// verified now.
class FuzzSource : public sg::ingress::RecipientSource {
 public:
  std::string Name() const override { return "fuzz"; }
  sg::ingress::RecipientStatus Lookup(const std::string& address) override {
    if (address.rfind("down@", 0) == 0) return sg::ingress::RecipientStatus::kUnavailable;
    return !address.empty() && (address[0] == 'k' || address[0] == 'K')
               ? sg::ingress::RecipientStatus::kKnown
               : sg::ingress::RecipientStatus::kUnknown;
  }
};

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
    policy.sender_bindings.auth_users = {
        {"alice", *sg::ingress::ParseSenders({"example.org"}, "fuzz")}};
    steps = sg::ingress::BuildSteps(cfg, policy);
    relay_cfg = cfg;
    relay_cfg.role = sg::ingress::Role::kRelay;
    relay_steps = sg::ingress::BuildSteps(relay_cfg, policy);
    verifier.SetSources("example.org", {std::make_shared<FuzzSource>()});
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
  sg::ingress::RecipientVerifier verifier{sg::ingress::RecipientCacheConfig{}, nullptr};
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

// Checked octet by octet, independently of DataReader and LineChecker.
void CheckLines(const std::string& message, size_t max_line_length) {
  size_t line = 0;
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r') {
      Check(i + 1 < message.size() && message[i + 1] == '\n');
      ++i;
      line = 0;
    } else {
      Check(c != '\n');
      Check(++line <= max_line_length);
    }
  }
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string DomainOf(const std::string& address) {
  return Lower(address.substr(address.rfind('@') + 1));
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
    // Bound senders: alice's and the listener's default are example.org.
    SG_FUZZ_CHECK(env.mail_from().empty() || DomainOf(env.mail_from()) == "example.org");
  } else {
    SG_FUZZ_CHECK(env.direction() == smimegate::v1::DIRECTION_INBOUND);
    for (const auto& r : env.recipients()) {
      SG_FUZZ_CHECK(DomainOf(r.address()) == "example.org");
      // Verified by FuzzSource (local part k...), or the postmaster (RFC 5321 4.5.1).
      const std::string a = Lower(r.address());
      SG_FUZZ_CHECK(!a.empty() && (a.front() == 'k' || a.rfind("postmaster@", 0) == 0));
    }
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
  // Per input, so every input starts from the same state.
  sg::ingress::ByteBudget budget(16 * 1024);
  sg::ingress::FailureLimit limit{3, std::chrono::minutes(1), std::chrono::minutes(1)};
  sg::ingress::FailureLimiter user_limit(limit), client_limit(limit), rcpt_limit(limit);
  sg::ingress::SessionDeps deps{relay ? &fx.relay_cfg : &fx.cfg,
                                relay ? &fx.relay_steps : &fx.steps,
                                fx.auth.get(),
                                &fx.ids,
                                nullptr,
                                &budget,
                                &user_limit,
                                &client_limit,
                                &fx.verifier,
                                &rcpt_limit};
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
  host.held.clear();  // acks that never came: their leases go with them
  Check(budget.in_use() == 0);
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
    CheckLines(rec.message(), fx.cfg.max_line_length);
    CheckEnvelope(rec, relay, data[0] & 2, fx.cfg.max_recipients);
  }
  return 0;
}
