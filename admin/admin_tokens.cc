#include "admin/admin_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/config_node.h"
#include "keyservice/tenant_registry.h"

namespace sg::admin {
namespace {

constexpr std::string_view kPrefix = "sgt_";
constexpr size_t kIdHex = 16;      // 64 bits
constexpr size_t kSecretHex = 64;  // 256 bits
constexpr std::string_view kMetaPrefix = "admintoken/";

std::string MetaKey(std::string_view id) {
  std::string key(kMetaPrefix);
  key += id;
  return key;
}

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

Result<std::string> RandomHex(size_t bytes) {
  std::array<unsigned char, 32> buf{};
  if (bytes > buf.size() || RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    return MakeError(ErrorCode::kInternal, "admin token: the random generator failed");
  }
  return Hex(buf.data(), bytes);
}

std::string Sha256Hex(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
  return Hex(md.data(), len);
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The id of a well-formed token text, else "".
std::string IdOf(std::string_view token) {
  if (token.size() != kPrefix.size() + kIdHex + 1 + kSecretHex) return "";
  if (!token.starts_with(kPrefix) || token[kPrefix.size() + kIdHex] != '_') return "";
  std::string_view id = token.substr(kPrefix.size(), kIdHex);
  if (!IsLowerHex(id) || !IsLowerHex(token.substr(kPrefix.size() + kIdHex + 1))) return "";
  return std::string(id);
}

}  // namespace

Result<std::optional<AdminTokens::Stored>> AdminTokens::Load(const std::string& id) {
  SG_ASSIGN_OR_RETURN(auto raw, store_.GetMeta(MetaKey(id)));
  if (!raw) return std::optional<Stored>();
  auto j = nlohmann::json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return MakeError(ErrorCode::kInternal, "admin token " + id + ": unreadable record");
  }
  Stored s;
  s.info.id = j.value("id", "");
  auto scope = ParseScope(j.value("scope", ""));
  if (!scope.ok()) return MakeError(ErrorCode::kInternal, "admin token " + id + ": bad scope");
  s.info.scope = *scope;
  s.info.name = j.value("name", "");
  s.info.created_at = j.value("created_at", int64_t{0});
  s.info.revoked_at = j.value("revoked_at", int64_t{0});
  s.info.expires_at = j.value("expires_at", int64_t{0});
  s.sha256_hex = j.value("sha256", "");
  return std::optional<Stored>(std::move(s));
}

Status AdminTokens::Save(const Stored& s) {
  nlohmann::json j = {{"id", s.info.id},
                      {"scope", s.info.scope.ToString()},
                      {"name", s.info.name},
                      {"created_at", s.info.created_at},
                      {"revoked_at", s.info.revoked_at},
                      {"expires_at", s.info.expires_at},
                      {"sha256", s.sha256_hex}};
  return store_.PutMeta(MetaKey(s.info.id), j.dump());
}

Result<int64_t> ParseTokenExpiry(const std::string& text, int64_t now) {
  if (text.empty()) return int64_t{0};
  if (text.find('-') == std::string::npos) {
    auto d = config::ParseDuration(text);
    if (d.ok() && d->count() >= 1000) {
      return now + std::chrono::duration_cast<std::chrono::seconds>(*d).count();
    }
  } else {
    for (const char* format : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"}) {
      struct tm tm {};
      const char* end = strptime(text.c_str(), format, &tm);
      if (end != nullptr && *end == '\0') return static_cast<int64_t>(timegm(&tm));
    }
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "token expiry \"" + text +
                       "\": expected a duration from now (90d, 12h) or a UTC date (2027-03-01 "
                       "or 2027-03-01T12:00:00Z)");
}

Result<NewToken> AdminTokens::Add(const std::string& scope_text, const std::string& name,
                                  int64_t expires_at) {
  SG_ASSIGN_OR_RETURN(Scope scope, ParseScope(scope_text));
  SG_RETURN_IF_ERROR(keyservice::CheckTenantName(name, "token"));
  if (expires_at != 0 && expires_at <= clock_.NowMs() / 1000) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "token expiry " + std::to_string(expires_at) +
                         " (unix seconds) is not in the future; give a later date");
  }
  if (scope.kind == Scope::Kind::kTenant) {
    if (auto t = tenants_.TenantShow(scope.id); !t.ok()) return t.error();
  } else if (scope.kind == Scope::Kind::kReseller) {
    if (auto r = tenants_.ResellerShow(scope.id); !r.ok()) return r.error();
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  Stored s;
  do {
    SG_ASSIGN_OR_RETURN(s.info.id, RandomHex(kIdHex / 2));
    SG_ASSIGN_OR_RETURN(auto existing, Load(s.info.id));
    if (!existing) break;
  } while (true);
  SG_ASSIGN_OR_RETURN(std::string secret, RandomHex(kSecretHex / 2));
  NewToken out;
  out.token = std::string(kPrefix) + s.info.id + "_" + secret;
  s.info.scope = scope;
  s.info.name = name;
  s.info.created_at = clock_.NowMs() / 1000;
  s.info.expires_at = expires_at;
  s.sha256_hex = Sha256Hex(out.token);
  SG_RETURN_IF_ERROR(Save(s));
  out.info = s.info;
  return out;
}

Result<std::vector<TokenInfo>> AdminTokens::List() {
  SG_ASSIGN_OR_RETURN(auto values, store_.ScanMeta(std::string(kMetaPrefix)));
  std::vector<TokenInfo> out;
  out.reserve(values.size());
  for (const auto& raw : values) {
    auto j = nlohmann::json::parse(raw, nullptr, false);
    if (!j.is_object()) continue;
    SG_ASSIGN_OR_RETURN(auto s, Load(j.value("id", "")));
    if (s) out.push_back(s->info);
  }
  return out;
}

Status AdminTokens::Revoke(const std::string& id) {
  std::lock_guard<std::mutex> lock(write_mu_);
  const bool well_formed = id.size() == kIdHex && IsLowerHex(id);
  std::optional<Stored> s;
  if (well_formed) {
    SG_ASSIGN_OR_RETURN(s, Load(id));
  }
  if (!s) return MakeError(ErrorCode::kNotFound, "no admin token with id \"" + id + "\"");
  if (s->info.revoked_at != 0) return OkStatus();
  s->info.revoked_at = clock_.NowMs() / 1000;
  return Save(*s);
}

Result<std::optional<TokenInfo>> AdminTokens::Check(const std::string& token) {
  const std::string id = IdOf(token);
  if (id.empty()) return std::optional<TokenInfo>();
  SG_ASSIGN_OR_RETURN(auto s, Load(id));
  const std::string presented = Sha256Hex(token);
  // Compared even for an unknown id (against itself), so timing tells
  // nothing about which ids exist.
  const std::string& expected = s ? s->sha256_hex : presented;
  const bool equal = expected.size() == presented.size() &&
                     CRYPTO_memcmp(expected.data(), presented.data(), presented.size()) == 0;
  if (!s || !equal || s->info.revoked_at != 0) return std::optional<TokenInfo>();
  if (s->info.expires_at != 0 && clock_.NowMs() / 1000 >= s->info.expires_at) {
    return std::optional<TokenInfo>();
  }
  return std::optional<TokenInfo>(s->info);
}

}  // namespace sg::admin
