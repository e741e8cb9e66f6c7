// The machine's host name, for the defaults that name this machine: the
// SMTP greeting of ingress and egress, the portal's public URL, the admin
// API's certificate, a Kafka static member's name, the default name of
// issued credentials. One place for gethostname's quirk: a name that fills
// the buffer may come back without its terminating NUL, so the last byte
// is never written.
//
// Threading: thread-safe (no state).
#pragma once

#include <unistd.h>

#include <array>
#include <string>

namespace sg {

// The host name; `fallback` when the call fails or the name is empty.
inline std::string HostName(const std::string& fallback = "localhost") {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') return fallback;
  return host.data();
}

}  // namespace sg
