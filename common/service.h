// A long-running stage component (ingress server, worker pool, egress,
// keyservice, status HTTP server) as wired by cmd/smimegate.
//
// Lifecycle: constructed from its config and dependencies, Start() once,
// Stop() once. Stop() is graceful and blocks until done: stop taking new
// work, finish or hand back in-flight work (commit what is processed), then
// release resources. Stop() after a failed Start() is allowed.
//
// Threading: Start/Stop are called from the main thread; Ready() from any.
#pragma once

#include <string>

#include "common/result.h"

namespace sg {

class Service {
 public:
  virtual ~Service() = default;
  virtual std::string Name() const = 0;
  // Binds ports, opens stores, starts threads. A taken port is kUnavailable
  // with a message naming the address ("ingress.listeners[0]: 127.0.0.1:2525
  // is already in use").
  virtual Status Start() = 0;
  // Shutdown, first step: stop taking new work now, without waiting (ingress
  // closes its listeners, consumers stop polling). Called on every service
  // before the first Stop(), so all stages drain at the same time. Stop()
  // alone does this too.
  virtual void RequestStop() {}
  virtual void Stop() = 0;
  // True once the component serves (for /readyz).
  virtual bool Ready() const = 0;
};

}  // namespace sg
