// Names the calling thread (as shown by `top -H`, `ps -L`, perf and gdb), so
// an operator can tell the ingress loops, workers, egress and the queue's
// writer apart. Linux keeps 15 characters; longer names are cut.
#pragma once

#include <pthread.h>

#include <string>

namespace sg {

inline void SetCurrentThreadName(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace sg
