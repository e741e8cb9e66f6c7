// Loopback sockets for tests: a listener on a port the kernel chose, a port
// that nothing listens on, a client connection. The one place tests open raw
// sockets on 127.0.0.1 (peers that accept and never answer, ports known to be
// taken, ports known to be closed).
//
// Threading: plain functions and a move-only RAII object; no shared state.
#pragma once

#include <cstdint>

namespace sg::testing {

// A TCP socket listening on 127.0.0.1 at a kernel-chosen port until it is
// destroyed. It accepts connections (the kernel completes the handshake up
// to `backlog`) and never answers unless the test reads fd() itself: a
// silent peer for timeout tests, or a port known to be in use.
class LoopbackListenSocket {
 public:
  explicit LoopbackListenSocket(int backlog = 16);
  ~LoopbackListenSocket();
  LoopbackListenSocket(const LoopbackListenSocket&) = delete;
  LoopbackListenSocket& operator=(const LoopbackListenSocket&) = delete;

  // False when socket/bind/listen failed (the test should ASSERT on it).
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }
  // Closes the socket now (the port is free again).
  void Close();

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A TCP port on 127.0.0.1 that nothing listened on a moment ago (for peers
// that must be told their port, and for "connection refused" tests). Another
// process can take it in between; tests that can let the peer choose (port 0
// and a port file) should.
uint16_t FreeLoopbackPort();

// A blocking TCP connection to 127.0.0.1:port; -1 when it fails. The caller
// closes it.
int ConnectLoopback(uint16_t port);

}  // namespace sg::testing
