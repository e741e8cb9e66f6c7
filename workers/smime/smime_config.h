// The S/MIME engine's configuration: section `workers.smime`.
//
// Parsed once at start-up by the worker stage (workers/worker_config.cc
// passes its `smime` sub-map here). Every key has a default; see
// docs/configuration.md. Threading: plain values.
#pragma once

#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/result.h"
#include "workers/smime/revocation_config.h"
#include "workers/smime/smime_engine.h"
#include "workers/smime/smime_trust.h"

namespace sg::smime {

struct SmimeConfig {
  MimeLimits limits;
  bool trust_system_roots = false;  // trust.system_roots: the server bundle (issue 18: off)
  std::vector<std::string> trust_anchor_files;  // trust.anchors: PEM files (may hold several certs)
  std::vector<std::string> intermediate_files;  // trust.intermediates: PEM files
  ContentCipher content_cipher = ContentCipher::kAuto;
  bool rsa_oaep = false;  // RSA-OAEP key transport for every RSA recipient
  bool rsa_pss = false;   // RSA-PSS signatures (PKCS#1 v1.5 otherwise)
  DigestAlg digest = DigestAlg::kSha256;
  bool check_from_address = true;  // verify: signer certificate must name From
  // Inbound algorithm policy (smime_algorithms.h, docs/smime.md).
  // decrypt: allow_3des_decrypt. On by default: Thunderbird, Outlook, gpgsm
  // and openssl decrypt 3DES mail from older senders; the gateway never
  // encrypts with it.
  bool allow_3des = true;
  bool allow_sha1 = false;           // verify: sha1_signatures: weak (valid) | invalid (default)
  bool check_signing_date = true;    // verify: Date within an hour of the signingTime (Thunderbird)
  RevocationConfig revocation;       // revocation: OCSP/CRL checks of partner certificates
};

// Relative paths resolve against |data_dir|.
Result<SmimeConfig> ParseSmimeConfig(const config::ConfigNode& section,
                                     const std::string& data_dir);

// Reads the configured anchor and intermediate files into a TrustStore.
// kIoError / kInvalidArgument naming the file on failure.
Result<TrustStore> LoadTrustStore(const SmimeConfig& config);

}  // namespace sg::smime
