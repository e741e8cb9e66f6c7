// Trust anchor changes over REST (docs/admin-api.md "Trust"): add (PEM or
// DER in the JSON body), remove, approve a pending certificate's CA.
//
// Anchors are one set for the whole gateway: they decide which signatures
// every tenant's users see as valid and which harvested certificates every
// tenant encrypts to. So only a super token changes them; a reseller or
// tenant token gets 403 whatever the fingerprint (the list itself is
// readable by every scope, GET /v1/trust, so a 403 hides nothing).
#include "admin/admin_handlers.h"
#include "common/ascii.h"

namespace sg::admin {
namespace {

constexpr const char* kSuperOnly =
    "trust anchors are shared by every tenant: only a super token may change them";

Json TrustResult(const keyservice::TrustAddResult& r) {
  return {{"fingerprints", r.fingerprints}, {"promoted_pending", r.promoted_pending}};
}

// A SHA-256 fingerprint in hex (either case), lower-cased; "" when malformed.
std::string Fingerprint(const std::string& text) {
  if (text.size() != 64) return "";
  for (char ch : text) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))) {
      return "";
    }
  }
  return AsciiLower(text);
}

}  // namespace

// POST /v1/trust {"pem": "-----BEGIN CERTIFICATE-----..."} or {"der": "<base64>"}
Answer AddTrust(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden(kSuperOnly);
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto der = BodyCertificates(*body);
  if (!der.ok()) return ErrorAnswer(der.error());
  auto added = c.d.keys.TrustAdd(*der);
  if (!added.ok()) return ErrorAnswer(added.error());
  return {201, TrustResult(*added)};
}

// DELETE /v1/trust/{fingerprint}: an anchor added with trust add or approved
// (the Mozilla and system bundles are configuration: 404 here).
Answer RemoveTrust(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden(kSuperOnly);
  const std::string fingerprint = Fingerprint(c.params[0]);
  if (fingerprint.empty()) return NotFound("trust anchor", c.params[0]);
  auto st = c.d.keys.TrustRemove(fingerprint);
  if (!st.ok()) {
    return st.error().code == ErrorCode::kNotFound ? NotFound("trust anchor", c.params[0])
                                                   : ErrorAnswer(st.error());
  }
  return {204, nullptr};
}

// POST /v1/trust/pending/{fingerprint}/approve: trusts the topmost CA of the
// chain a pending (harvested, untrusted) certificate came with; the pending
// certificates it now validates are promoted (GET /v1/certificates?kind=pending).
Answer ApprovePending(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden(kSuperOnly);
  const std::string fingerprint = Fingerprint(c.params[0]);
  if (fingerprint.empty()) return NotFound("pending certificate", c.params[0]);
  auto approved = c.d.keys.TrustApprovePending(fingerprint);
  if (!approved.ok()) return ErrorAnswer(approved.error());
  return {200, TrustResult(*approved)};
}

}  // namespace sg::admin
