// No shared SMTP ports (issue 14): the ingress listens with SO_REUSEPORT so
// each of its event loops has a socket of its own on the port, but another
// process must never join that group and take a share of the connections.
//
// Linux lets any socket of the same user with SO_REUSEPORT join, so the
// server checks twice: a plain bind before its own (ingress_server.cc: an
// existing listener is a clear "already in use"), and, once its sockets
// listen, this check of the kernel's table of listening sockets
// (/proc/net/tcp, /proc/net/tcp6): a listening socket on one of our local
// addresses that is not one of ours means another process got in between
// (two gateways starting at the same moment); the later of the two then
// refuses to start. A process that joins later still can, if it runs as
// the same user: run the gateway as its own user (docs/operations.md).
//
// Threading: any thread; reads /proc.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>

#include "common/result.h"

namespace sg::ingress {

// The inode of a socket (what /proc/net/tcp lists); 0 on error.
ino_t SocketInode(int fd);

// Whether a socket outside `ours` (inodes) listens on the local address and
// port of one of `ours`. kIoError when /proc cannot be read.
Result<bool> ForeignListenerSharesPort(const std::set<ino_t>& ours);

}  // namespace sg::ingress
