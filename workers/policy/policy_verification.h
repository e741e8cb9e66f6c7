// The detail header of inbound mail: X-Smimegate-Verification.
//
// One field per S/MIME layer the gateway found, outermost first, so a
// reader's client, a filter rule or an audit can see what the Subject mark
// summarises:
//
//   X-Smimegate-Verification: 1 signed-detached; verdict=good; from-bound;
//     signer=<alice@example.org> status=good digest=sha256 signed=2026-12-06T02:21:07Z principal
//   X-Smimegate-Verification: 2 enveloped-data; aes-256-cbc; decrypted
//
// (each field is one line; wrapped here for reading). Values: the layer
// kind (signed-detached, signed-opaque, enveloped-data, authenveloped-data,
// other:<kind>, too-deep); for signatures the layer's verdict (a
// VerifyStatus name), "from-bound" on the outermost signature, "over-
// decrypted" when it signed a layer that was decrypted, then every signer
// with its own status (SHA-1 accepted by configuration: "weak"); for
// encryption the cipher and decrypted / not-ours. Addresses are reduced to
// printable ASCII; no library error text is included.
//
// Inbound mail never keeps a field of this name the sender wrote: every
// delivered inbound message gets the gateway's fields only (possibly none).
//
// Threading: pure functions.
#pragma once

#include <string>
#include <vector>

#include "workers/policy/policy_unwrap.h"

namespace sg::workers {

inline constexpr std::string_view kVerificationHeader = "X-Smimegate-Verification";

// The field values for |layers| (empty when there is no S/MIME layer).
std::vector<std::string> VerificationFields(const std::vector<Layer>& layers);

}  // namespace sg::workers
