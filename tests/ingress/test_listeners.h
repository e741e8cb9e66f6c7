// Listener configurations for tests that run an IngressServer on loopback.
#pragma once

#include <string>

#include "ingress/ingress_config.h"

namespace sg::ingress::testing {

// A listener on 127.0.0.1, an ephemeral port, plaintext only (no
// certificate, so no data_dir needed) unless the test turns STARTTLS on.
inline ListenerConfig LoopbackListener(const std::string& name = "mx", Role role = Role::kMx,
                                       int index = 0) {
  ListenerConfig l;
  l.config_path = "ingress.listeners[" + std::to_string(index) + "]";
  l.name = name;
  l.address = "127.0.0.1";
  l.port = 0;
  l.role = role;
  l.starttls = false;
  return l;
}

}  // namespace sg::ingress::testing
