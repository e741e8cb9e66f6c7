// The `keyservice.decrypt_guard` section (docs/configuration.md): where and
// how long the decryption failure guard remembers content keys and DSNs.
//
// Threading: plain values; parse once at start-up.
#pragma once

#include <string>

#include "common/config_node.h"
#include "common/result.h"
#include "keyservice/decrypt_guard_store.h"

namespace sg::keyservice {

// Relative paths resolve against |data_dir|; the default path is
// <data_dir>/decrypt-guard.
Result<DecryptGuardOptions> ParseDecryptGuardConfig(const config::ConfigNode& section,
                                                    const std::string& data_dir);

}  // namespace sg::keyservice
