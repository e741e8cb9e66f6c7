#include "portal/portal_links.h"

#include <cctype>

#include "portal/portal_crypto.h"

namespace sg::portal {
namespace {

constexpr size_t kTokenBytes = 32;  // 256 bits

std::string RandomCode() {
  // 8 decimal digits, uniformly (rejection sampling over 32 random bits).
  while (true) {
    const std::string r = RandomBytes(4);
    uint32_t v = (static_cast<uint32_t>(static_cast<unsigned char>(r[0])) << 24) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(r[1])) << 16) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(r[2])) << 8) |
                 static_cast<uint32_t>(static_cast<unsigned char>(r[3]));
    if (v >= 4200000000u) continue;  // 42 * 10^8: keeps the distribution uniform
    std::string digits = std::to_string(v % 100000000u);
    return std::string(8 - digits.size(), '0') + digits;
  }
}

std::string CodeHash(const std::string& code) { return Hex(Sha256("portal-code:" + code)); }

// Only what a token can look like reaches the store.
std::optional<std::string> TokenHash(const std::string& token) {
  if (token.size() != 43) return std::nullopt;
  for (unsigned char c : token) {
    if (!std::isalnum(c) && c != '-' && c != '_') return std::nullopt;
  }
  return Sha256(token);
}

}  // namespace

IssuedLink Links::Prepare(pb::LinkToken& record, const std::string& path, int64_t ttl_ms) const {
  IssuedLink link;
  link.token = UrlSafeText(RandomBytes(kTokenBytes));
  const int64_t now = clock_.NowMs();
  record.set_created_ms(now);
  record.set_expires_ms(now + ttl_ms);
  link.expires_ms = record.expires_ms();
  link.hash = Sha256(link.token);
  link.url = public_url_ + path + link.token;
  return link;
}

Result<IssuedLink> Links::Issue(pb::LinkToken record, const std::string& path, int64_t ttl_ms) {
  IssuedLink link = Prepare(record, path, ttl_ms);
  SG_RETURN_IF_ERROR(store_.PutToken(link.hash, record));
  return link;
}

Result<IssuedLink> Links::IssueMessageLink(const std::string& recipient,
                                           const std::string& message_id,
                                           const std::string& domain, int64_t ttl_ms,
                                           bool with_code) {
  pb::LinkToken t;
  IssuedLink link = PrepareMessageLink(recipient, message_id, domain, ttl_ms, with_code, &t);
  SG_RETURN_IF_ERROR(store_.PutToken(link.hash, t));
  return link;
}

IssuedLink Links::PrepareMessageLink(const std::string& recipient, const std::string& message_id,
                                     const std::string& domain, int64_t ttl_ms, bool with_code,
                                     pb::LinkToken* record) const {
  pb::LinkToken& t = *record;
  t.set_purpose(pb::LinkToken::PURPOSE_MESSAGE);
  t.set_address(recipient);
  t.set_message_id(message_id);
  t.set_domain(domain);
  std::string code;
  if (with_code) {
    code = RandomCode();
    t.set_code_hash(CodeHash(code));
  }
  IssuedLink link = Prepare(t, "/l/", ttl_ms);
  link.code = code;
  return link;
}

Result<IssuedLink> Links::IssueResetLink(const std::string& address, const std::string& domain,
                                         int64_t ttl_ms) {
  pb::LinkToken t;
  t.set_purpose(pb::LinkToken::PURPOSE_RESET);
  t.set_address(address);
  t.set_domain(domain);
  return Issue(t, "/r/", ttl_ms);
}

Result<std::optional<pb::LinkToken>> Links::Peek(const std::string& token,
                                                 pb::LinkToken::Purpose purpose) {
  auto hash = TokenHash(token);
  if (!hash) return std::optional<pb::LinkToken>();
  SG_ASSIGN_OR_RETURN(auto t, store_.GetToken(*hash));
  if (!t || t->purpose() != purpose || t->used_ms() != 0 || t->expires_ms() <= clock_.NowMs()) {
    return std::optional<pb::LinkToken>();
  }
  return t;
}

Result<bool> Links::Consume(const std::string& token) {
  auto hash = TokenHash(token);
  if (!hash) return false;
  return store_.ConsumeToken(*hash, clock_.NowMs());
}

Status Links::Revoke(const std::string& hash) {
  if (hash.empty()) return OkStatus();
  auto consumed = store_.ConsumeToken(hash, clock_.NowMs());
  if (!consumed.ok()) return consumed.error();
  return OkStatus();
}

bool Links::CodeMatches(const pb::LinkToken& link, const std::string& code) {
  std::string digits;
  for (char c : code) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  }
  return !link.code_hash().empty() && ConstantTimeEqual(CodeHash(digits), link.code_hash());
}

}  // namespace sg::portal
