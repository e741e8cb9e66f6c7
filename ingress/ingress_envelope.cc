#include "ingress/ingress_envelope.h"

#include <openssl/rand.h>

#include <chrono>
#include <ctime>

#include "common/ascii.h"
#include "ingress/ingress_headers.h"

namespace sg::ingress {

std::string UlidGenerator::Encode(uint64_t ms, const uint8_t random[10]) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  // 128 bits: 48 time + 80 random, as 26 base32 digits (130 bits, top 2 zero).
  uint8_t bytes[16];
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  for (int i = 0; i < 10; ++i) bytes[6 + i] = random[i];
  std::string out(26, '0');
  for (int i = 25, bit = 0; i >= 0; --i, bit += 5) {
    // bit counts from the least significant bit of the 128-bit number.
    int v = 0;
    for (int k = 0; k < 5; ++k) {
      int b = bit + k;
      if (b >= 128) break;
      int byte = 15 - b / 8;
      if ((bytes[byte] >> (b % 8)) & 1) v |= 1 << k;
    }
    out[static_cast<size_t>(i)] = kAlphabet[v];
  }
  return out;
}

std::string UlidGenerator::Next() {
  uint8_t random[10];
  if (RAND_bytes(random, sizeof random) != 1) {
    // The CSPRNG failing is a broken invariant: ids would collide.
    std::abort();
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return Encode(static_cast<uint64_t>(ms), random);
}

namespace {

// Only printable ASCII from the client goes into our header.
std::string Sanitize(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 255)) {
    out.push_back((c > 32 && c < 127 && c != '(' && c != ')') ? static_cast<char>(c) : '?');
  }
  return out;
}

// Envelope fields are protobuf `string`s, which must be UTF-8: a record
// with anything else fails to parse in the worker (a dead letter after our
// 250). Client bytes that are not valid UTF-8 keep their ASCII; every other
// byte becomes '?'. (The message itself is `bytes` and never touched.)
std::string Utf8Field(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return out;
}

}  // namespace

std::string BuildReceivedHeader(const SessionState& s, const Transaction& tx,
                                const std::string& id, int64_t now_ms) {
  // RFC 3848 protocol types; RFC 6531 UTF8SMTP* for SMTPUTF8 transactions.
  std::string proto = tx.params.smtputf8 ? "UTF8SMTP" : (s.esmtp ? "ESMTP" : "SMTP");
  if (s.esmtp || tx.params.smtputf8) {
    if (s.tls.active) proto += "S";
    if (!s.auth_identity.empty()) proto += "A";
  }
  std::string h = "Received: from " + Sanitize(s.helo) + " ([" + s.client_ip + "])\r\n";
  h += "\tby " + s.config->hostname + " (smimegate) with " + proto + " id " + id + "\r\n";
  if (s.tls.active) {
    h += "\t(using " + s.tls.version + " with cipher " + s.tls.cipher;
    if (s.tls.peer_verified) h += ", client certificate verified";
    h += ")\r\n";
  }
  if (tx.recipients.size() == 1 && !tx.recipients[0].path.non_ascii) {
    h += "\tfor <" + Sanitize(tx.recipients[0].path.address) + ">";
  } else {
    h += "\t";
  }
  h += "; " + Rfc5322Date(now_ms) + "\r\n";
  return h;
}

std::string FindHeaderMessageId(std::string_view message) {
  std::vector<std::string> values = HeaderFieldValues(message, "Message-ID");
  if (values.empty()) return {};
  const std::string& value = values.front();
  size_t b = value.find_first_not_of(" \t");
  size_t e = value.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
}

smimegate::v1::MessageRecord BuildRecord(const SessionState& s, const Transaction& tx,
                                         const std::string& id, int64_t now_ms,
                                         std::string message) {
  smimegate::v1::MessageRecord rec;
  auto* env = rec.mutable_envelope();
  env->set_message_id(id);
  env->set_direction(s.config->role == Role::kMx ? smimegate::v1::DIRECTION_INBOUND
                                                 : smimegate::v1::DIRECTION_OUTBOUND);
  env->set_listener(s.config->listener);
  auto* client = env->mutable_client();
  client->set_ip(s.client_ip);
  client->set_port(s.client_port);
  client->set_helo(Utf8Field(s.helo));
  auto* tls = env->mutable_tls();
  tls->set_active(s.tls.active);
  tls->set_version(s.tls.version);
  tls->set_cipher(s.tls.cipher);
  tls->set_peer_subject(Utf8Field(s.tls.peer_subject));
  tls->set_peer_verified(s.tls.peer_verified);
  env->set_auth_identity(Utf8Field(s.auth_identity));
  env->set_mail_from(tx.from.null ? std::string() : tx.from.address);
  for (const AcceptedRecipient& r : tx.recipients) {
    auto* pr = env->add_recipients();
    pr->set_address(r.path.address);
    pr->set_notify_given(r.params.notify.given);
    pr->mutable_notify()->set_never(r.params.notify.never);
    pr->mutable_notify()->set_success(r.params.notify.success);
    pr->mutable_notify()->set_failure(r.params.notify.failure);
    pr->mutable_notify()->set_delay(r.params.notify.delay);
    pr->set_orcpt(Utf8Field(r.params.orcpt));
  }
  switch (tx.params.ret) {
    case Ret::kFull: env->set_dsn_ret(smimegate::v1::DSN_RET_FULL); break;
    case Ret::kHdrs: env->set_dsn_ret(smimegate::v1::DSN_RET_HDRS); break;
    case Ret::kUnspecified: break;
  }
  env->set_dsn_envid(Utf8Field(tx.params.envid));
  env->set_smtputf8(tx.params.smtputf8);
  env->set_eight_bit_mime(tx.params.body == Body::k8BitMime);
  env->set_received_at_ms(now_ms);
  env->set_header_message_id(Utf8Field(FindHeaderMessageId(message)));
  rec.set_message(std::move(message));
  return rec;
}

}  // namespace sg::ingress
