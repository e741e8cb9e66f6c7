// InternalCa: the small CA behind the mutual TLS of the gateway's gRPC API
// (not the S/MIME CA: it never issues mail certificates, and partners
// never see it). Created on first start, its key sealed under the KEK in
// the store (meta "pki/internal_ca", re-sealed by `smimegatectl kek
// rotate`); the certificate is public (ca.pem in every credentials
// directory).
//
// What it issues:
//   - the keyservice's server certificate: SAN DNS:<server_name> and URI
//     spiffe://<trust_domain>/keyservice, a fresh P-256 key each time,
//     never written to disk (rpc_tls.h asks again on SIGHUP and before it
//     expires);
//   - client certificates for a public key the client generated, with the
//     role as SAN URI spiffe://<trust_domain>/<role> (rpc_roles.h) and EKU clientAuth;
//     role egress: also SAN DNS:smimegate-egress, EKU serverAuth (its admin port);
//     role portal: also SAN DNS:smimegate-portal, EKU serverAuth (likewise).
//
// Threading: thread-safe after LoadOrCreate (the key is immutable).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"
#include "keyservice/kek.h"
#include "keyservice/key_store.h"
#include "common/clock.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

// A certificate chain and private key (PEM) for a TLS endpoint.
struct TlsIdentity {
  std::string cert_chain_pem;
  std::string private_key_pem;
};

class InternalCa {
 public:
  // Loads the CA from the store, creating it (P-256, 20 years) when absent.
  static Result<std::unique_ptr<InternalCa>> LoadOrCreate(KeyStore& store, const Kek& kek,
                                                          const Clock& clock,
                                                          const std::string& trust_domain);

  std::string CaPem() const;
  const std::string& trust_domain() const { return trust_domain_; }

  Result<TlsIdentity> IssueServer(const std::string& server_name, std::chrono::hours validity) const;
  // kInvalidArgument: bad public key, role or name (printable, 1-64 characters).
  Result<std::string> IssueClient(const std::string& role, const std::string& name,
                                  const std::string& public_key_der,
                                  std::chrono::hours validity) const;
  // KEK rotation: re-seals the CA key under kek's current key; 1 when changed.
  Result<int> ResealKeys(const Kek& kek);

 private:
  InternalCa() = default;
  Result<X509Ptr> NewLeaf(EVP_PKEY* key, const std::string& cn, std::chrono::hours validity) const;

  KeyStore* store_ = nullptr;  // borrowed: KeyServiceImpl owns both
  const Clock* clock_ = nullptr;
  std::string trust_domain_;
  X509Ptr cert_;
  PkeyPtr key_;
};

// The URI SAN that carries a role: "spiffe://smimegate/worker".
std::string RoleUri(const std::string& trust_domain, const std::string& role);

}  // namespace sg::keyservice
