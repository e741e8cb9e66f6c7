// The fixed test PKI of the fuzz targets (tests/support/fuzz_pki, made by
// make_pki.py): the committed seeds (scripts/fuzz-seeds.sh) are signed and
// encrypted with it, so the targets can open them. Test material only.
//
// Threading: loaded once, then read-only.
#pragma once

#include "workers/smime/smime_handles.h"
#include "workers/smime/smime_trust.h"

namespace sg::smime::testing {

struct FuzzPki {
  X509Ptr root;
  KeyPair alice;     // RSA-2048, alice@example.com
  KeyPair bob;       // EC P-256, bob@example.com
  TrustStore trust;  // root as the anchor
  SignerIdentity Signer(const KeyPair& who) const { return SignerIdentity{who.key, who.cert, {}}; }
};

// Aborts when the files are missing: a fuzz run without its PKI is useless.
const FuzzPki& GetFuzzPki();

}  // namespace sg::smime::testing
