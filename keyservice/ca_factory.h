// CaFactory: makes the CertificateAuthority that `keyservice.ca.backend`
// names, for KeyServiceImpl (which receives the factory, so tests and new
// backends inject theirs without touching it).
//
// A backend gets what the keyservice owns: the store (for its own records
// in the meta column family), the KEK (to seal any private key it keeps)
// and the clock. "cmp" (cmp_ca.h) reaches a public CA over CMP. Other
// external backends (ACME for S/MIME, EST, a vendor MPKI) add their name to CaBackendNames() and a branch to DefaultCaFactory();
// tests/keyservice/ca_contract_test.cc is the suite every backend passes.
//
// Per-domain backends (keyservice.ca.domains) are routed by CaRouter
// (ca_router.h), which RoutingCaFactory builds.
//
// Threading: the factory is called once, from KeyServiceImpl::Open.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/certificate_authority.h"
#include "keyservice/kek.h"
#include "keyservice/key_store.h"
#include "common/clock.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

struct CaContext {
  KeyStore& store;
  const Kek& kek;
  const Clock& clock;
};

// Errors: the backend's own (unreachable CA, broken stored record), or
// kInvalidArgument naming keyservice.ca.backend for an unknown backend.
using CaFactory = std::function<Result<std::unique_ptr<CertificateAuthority>>(
    const CaConfig& config, const CaContext& context)>;

// The backends this build knows, for config validation: "builtin", "cmp".
const std::vector<std::string>& CaBackendNames();

// One backend, chosen by config.backend (config.domains ignored).
CaFactory BackendCaFactory();

// The default backend from `backends`; with keyservice.ca.domains, a
// CaRouter (ca_router.h) over it and one backend per listed domain (built
// by `backends` from the default section with backend and cmp replaced).
// A domain's error is prefixed with keyservice.ca.domains.<domain>.
CaFactory RoutingCaFactory(CaFactory backends);

// RoutingCaFactory(BackendCaFactory()).
CaFactory DefaultCaFactory();

}  // namespace sg::keyservice
