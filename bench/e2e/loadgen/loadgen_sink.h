// The delivery sink: an SMTP server that accepts everything at once.
//
// Purpose: the far end of the system under test. Answers EHLO (PIPELINING,
// 8BITMIME, SIZE, SMTPUTF8), MAIL/RCPT with 250, DATA with 354, the final "."
// with 250 (nothing is stored, no fsync), RSET, NOOP, QUIT; handles pipelined
// commands and messages of any size split across reads at any byte. For each
// message it reports the X-Bench-Id found in the HEADER section (or none).
// Threading: loop thread only.
// Ownership: Sink owns its sessions; Close() closes everything and calls
// on_closed when all handles are gone.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "bench/e2e/loadgen/loadgen_data_scanner.h"

namespace sg::bench::loadgen {

class SinkSession;

class Sink {
 public:
  // bench_id: the X-Bench-Id value, nullopt when the header section has none.
  using DeliveryFn = std::function<void(const std::optional<std::string>& bench_id)>;

  Sink(uv_loop_t* loop, DeliveryFn on_delivery, std::string dump_dir);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // Binds and listens; returns a specific error message or "" on success.
  std::string Listen(const std::string& host, int port);
  int port() const { return port_; }
  // Connections currently open to the sink (the system under test's cached ones too).
  size_t open_sessions() const { return sessions_.size(); }
  void Close(std::function<void()> on_closed);

 private:
  friend class SinkSession;
  static void OnConnection(uv_stream_t* server, int status);
  static void OnListenerClosed(uv_handle_t* h);
  void SessionClosed(SinkSession* s);
  void MaybeClosed();
  void Deliver(const std::optional<std::string>& bench_id, const std::string* dump);

  uv_loop_t* loop_;
  DeliveryFn on_delivery_;
  std::string dump_dir_;
  uint64_t dump_counter_ = 0;
  uv_tcp_t listener_{};
  bool listening_ = false;
  bool closing_ = false;
  bool listener_closed_ = false;
  int port_ = 0;
  std::unordered_set<SinkSession*> sessions_;
  std::function<void()> on_closed_;
};

}  // namespace sg::bench::loadgen
