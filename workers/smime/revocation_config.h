// Configuration of revocation checking: section `workers.smime.revocation`.
//
// Every key has a default (docs/configuration.md). Threading: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "common/config_node.h"
#include "common/result.h"

namespace sg::smime {

struct RevocationConfig {
  bool enabled = true;
  // One HTTP fetch (connect + answer), and all fetches of one chain together.
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds budget{std::chrono::seconds(10)};
  uint64_t max_ocsp_bytes = 64 * 1024;
  uint64_t max_crl_bytes = 10 * 1024 * 1024;
  size_t cache_entries = 10000;  // OCSP answers (one per certificate)
  size_t crl_cache_entries = 64;  // CRLs (one per URL)
  // An answer is kept until its nextUpdate, at most max_cache_time; without
  // a nextUpdate, default_cache_time.
  std::chrono::seconds max_cache_time{std::chrono::hours(24)};
  std::chrono::seconds default_cache_time{std::chrono::hours(1)};
  // A URL that failed is not asked again for this long (its certificates get
  // the error verdict at once), so a dead responder costs one timeout.
  std::chrono::seconds retry_after{std::chrono::minutes(5)};
  std::set<std::string> hard_fail_domains;  // lower-case
  // Loopback, private, link-local ... addresses may be fetched from (tests,
  // an internal CA); off: only public addresses.
  bool allow_private_addresses = false;
};

Result<RevocationConfig> ParseRevocationConfig(const config::ConfigNode& section);

}  // namespace sg::smime
