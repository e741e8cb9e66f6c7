// DKIM key material (RFC 6376, RFC 8463): generation, the public key as a
// DNS TXT record publishes it, selector and algorithm names; a key's
// DkimKeyInfo from its store record or API message, and its JSON as
// smimegatectl and the admin REST API print it. Pure functions over
// OpenSSL; the keyservice seals what GenerateDkimKey returns
// (key_service_dkim.cc).
//
// Threading: thread-safe (no shared state).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "keyservice/dkim_admin.h"

namespace sg::keyservice {

// "rsa" (RSA-2048) or "ed25519", case-insensitive; "" means "rsa".
// kInvalidArgument naming the accepted values otherwise.
Result<std::string> ParseDkimAlgorithm(std::string_view text);

// A selector is one or more DNS labels (letters, digits, '-'; 1-63
// characters each, not starting or ending with '-'), at most 63 characters
// in all; returned lower-cased. kInvalidArgument saying why otherwise.
Result<std::string> ParseDkimSelector(std::string_view text);

struct DkimKeyMaterial {
  std::string private_key_der;  // PKCS#8; the caller seals it at once
  std::string public_key;       // the p= value: base64 of the SubjectPublicKeyInfo
                                // (rsa) or of the raw 32-byte key (ed25519, RFC 8463)
};

// A new key of `algorithm` ("rsa" | "ed25519"). kInternal when OpenSSL fails.
Result<DkimKeyMaterial> GenerateDkimKey(const std::string& algorithm);

// "<selector>._domainkey.<domain>"
std::string DkimRecordName(const std::string& selector, const std::string& domain);
// "v=DKIM1; k=rsa; p=<public_key>"
std::string DkimRecordValue(const std::string& algorithm, const std::string& public_key);
// `value` as DNS character-strings: quoted, at most 255 bytes each,
// separated by one space ("v=DKIM1; ... " "...").
std::string DkimQuotedStrings(const std::string& value);
// The zone file line: `<name> IN TXT "..." "..."`.
std::string DkimZoneLine(const std::string& name, const std::string& value);

// A DkimKeyInfo with the fields every DKIM key record carries copied from
// `record` (the store's StoredDkimKey, the API's DkimKeyInfo message: any
// type with these accessors); record_name and record_value are the
// caller's (the store derives them, the API message carries them).
template <typename Record>
DkimKeyInfo DkimKeyInfoFrom(const Record& record) {
  DkimKeyInfo out;
  out.domain = record.domain();
  out.selector = record.selector();
  out.algorithm = record.algorithm();
  out.state = record.state();
  out.created_at = record.created_at();
  out.activated_at = record.activated_at();
  out.public_key = record.public_key();
  return out;
}

// A key as `smimegatectl dkim ... --json` and the admin REST API (schema
// DkimKey in docs/api/openapi.yaml) show it: the DkimKeyInfo fields but the
// bare public key, plus "zone_line" (DkimZoneLine of its record).
nlohmann::json DkimKeyJson(const DkimKeyInfo& k);

}  // namespace sg::keyservice
