// What `smimegate check-config` checks of the key-encryption key
// (keyservice/kek.h) without opening the key store: the current KEK (and the
// previous one, when configured) is present, its file readable by its owner
// only, and in kek_format (32 bytes for "key", at least 12 characters for
// "passphrase"). A missing kek_file with kek_create passes (it is created at
// start).
//
// Errors as Kek::Load's, naming where the key was looked for; never creates
// anything and never shows the key. Threading: reads files and the
// environment; safe from any thread.
#pragma once

#include "common/result.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

Status CheckKekSource(const KeyServiceConfig& config);

}  // namespace sg::keyservice
