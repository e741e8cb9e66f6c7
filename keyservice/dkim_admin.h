// DkimAdmin: the DKIM keys of hosted domains (docs/dkim.md), as smimegatectl
// (`smimegatectl dkim ...`, over gRPC service Dkim) and the admin REST API
// use them. KeyServiceImpl implements it over its store; KeyServiceClient
// over gRPC.
//
// A domain has any number of keys, each under its own selector; at most one
// is active (the one workers sign with). Rotation: generate a key under a
// new selector, publish its TXT record, activate it; the key active before
// becomes "retired" (its record stays published so that mail signed with it
// still verifies) until it is removed.
//
// Threading: thread-safe; calls may block on the store or the network.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::keyservice {

struct DkimKeyInfo {
  std::string domain;
  std::string selector;
  std::string algorithm;     // "rsa" | "ed25519"
  std::string state;         // "active" | "published" | "retired"
  int64_t created_at = 0;    // unix seconds
  int64_t activated_at = 0;  // 0: never
  std::string public_key;    // the p= value (base64)
  std::string record_name;   // "<selector>._domainkey.<domain>"
  std::string record_value;  // "v=DKIM1; k=rsa; p=..."
};

class DkimAdmin {
 public:
  virtual ~DkimAdmin() = default;

  // Generates a key for the hosted `domain` under `selector` ("" = "sg" and
  // today's date, yyyymmdd) with `algorithm` ("rsa" = RSA-2048 (default),
  // "ed25519" = RFC 8463). The key starts "published" (not used to sign).
  // kNotFound: the domain is not hosted; kInvalidArgument: a bad selector
  // or algorithm; kAlreadyExists: the selector is taken.
  virtual Result<DkimKeyInfo> DkimKeygen(const std::string& domain, const std::string& selector,
                                         const std::string& algorithm) = 0;
  // Keys of `domain` ("" = all), by domain then selector.
  virtual Result<std::vector<DkimKeyInfo>> DkimList(const std::string& domain) = 0;
  // Makes `selector` the domain's active key; the key active before is
  // "retired". kNotFound: no such key.
  virtual Result<DkimKeyInfo> DkimActivate(const std::string& domain,
                                           const std::string& selector) = 0;
  // Deletes a key. kInvalidArgument for the active key (activate another
  // one first); kNotFound: no such key.
  virtual Status DkimRemove(const std::string& domain, const std::string& selector) = 0;
};

}  // namespace sg::keyservice
