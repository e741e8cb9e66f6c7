// The portal configuration every in-process portal stage of the tests and
// the benchmark starts from: HTTPS on a free loopback port, every file
// (TLS, store, admin socket, a KEK created on first use) below `dir`.
// Callers change what their scenario needs afterwards.
#pragma once

#include "portal/portal_config.h"
#include "tests/support/temp_dir.h"

namespace sg::portal::testing {

inline void UseLoopbackDefaults(PortalConfig& c, const sg::testing::TempDir& dir) {
  c.enabled = true;
  c.address = "127.0.0.1";
  c.port = 0;
  c.hostname = "localhost";
  c.public_url_derived = true;
  c.tls_dir = dir.Sub("tls");
  c.store_path = dir.Sub("store");
  c.admin_socket = dir.Sub("portal.sock");
  c.kek.file = dir.Sub("portal.kek");
  c.kek.create = true;
}

}  // namespace sg::portal::testing
