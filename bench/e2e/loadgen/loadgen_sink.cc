#include "bench/e2e/loadgen/loadgen_sink.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/ascii.h"

namespace sg::bench::loadgen {

namespace {
constexpr size_t kMaxCommandLine = size_t{64} * 1024;

struct SinkWrite {
  uv_write_t req;
  SinkSession* session;
  std::string data;
};

bool VerbIs(const std::string& line, const char* verb) {
  size_t n = std::strlen(verb);
  if (line.size() < n || !AsciiEqualsIgnoreCase(std::string_view(line).substr(0, n), verb)) {
    return false;
  }
  return line.size() == n || line[n] == ' ' || line[n] == ':';
}
}  // namespace

class SinkSession {
 public:
  SinkSession(Sink& sink, bool dump) : sink_(sink), dump_enabled_(dump) { tcp_.data = this; }

  uv_tcp_t* tcp() { return &tcp_; }

  void Start() {
    uv_tcp_nodelay(&tcp_, 1);
    out_ = "220 sink.bench ESMTP smimegate-bench-smtp\r\n";
    Flush();
    if (closed_) return;
    int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &OnAlloc, &OnRead);
    if (rc < 0) CloseNow();
  }

  void CloseNow() {
    if (closed_) return;
    closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &OnClosed);
  }

 private:
  static void OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* self = static_cast<SinkSession*>(h->data);
    *buf = uv_buf_init(self->read_buf_, sizeof self->read_buf_);
  }

  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t*) {
    auto* self = static_cast<SinkSession*>(s->data);
    if (n == 0) return;
    if (n < 0) {
      self->CloseNow();
      return;
    }
    self->Process(self->read_buf_, static_cast<size_t>(n));
  }

  static void OnClosed(uv_handle_t* h) {
    auto* self = static_cast<SinkSession*>(h->data);
    self->sink_.SessionClosed(self);
  }

  static void OnWritten(uv_write_t* req, int status) {
    auto* w = static_cast<SinkWrite*>(req->data);
    SinkSession* self = w->session;
    delete w;
    --self->pending_writes_;
    if (status < 0) {
      self->CloseNow();
      return;
    }
    if (self->quitting_ && self->pending_writes_ == 0) self->CloseNow();
  }

  void Process(const char* p, size_t n) {
    size_t i = 0;
    while (i < n && !quitting_ && !closed_) {
      if (in_data_) {
        i += scanner_.Feed(p + i, n - i, [this](const char* d, size_t len) {
          if (!headers_.complete()) headers_.Append(d, len);
          if (dump_enabled_) dump_.append(d, len);
        });
        if (scanner_.done()) EndOfMessage();
        continue;
      }
      const void* nl = std::memchr(p + i, '\n', n - i);
      if (!nl) {
        line_.append(p + i, n - i);
        if (line_.size() > kMaxCommandLine) {
          out_ += "500 5.5.2 line too long\r\n";
          quitting_ = true;
        }
        break;
      }
      auto end = static_cast<size_t>(static_cast<const char*>(nl) - p);
      line_.append(p + i, end - i);
      i = end + 1;
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      Command(line_);
      line_.clear();
    }
    Flush();
  }

  void Command(const std::string& line) {
    if (VerbIs(line, "EHLO")) {
      ResetTransaction();
      out_ +=
          "250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1073741824\r\n"
          "250 SMTPUTF8\r\n";
    } else if (VerbIs(line, "HELO")) {
      ResetTransaction();
      out_ += "250 sink.bench\r\n";
    } else if (VerbIs(line, "MAIL")) {
      if (has_mail_) {
        out_ += "503 5.5.1 nested MAIL command\r\n";
      } else {
        has_mail_ = true;
        rcpts_ = 0;
        out_ += "250 2.1.0 Ok\r\n";
      }
    } else if (VerbIs(line, "RCPT")) {
      if (!has_mail_) {
        out_ += "503 5.5.1 need MAIL command\r\n";
      } else {
        ++rcpts_;
        out_ += "250 2.1.5 Ok\r\n";
      }
    } else if (VerbIs(line, "DATA")) {
      if (rcpts_ == 0) {
        out_ += "554 5.5.1 no valid recipients\r\n";
      } else {
        out_ += "354 End data with <CR><LF>.<CR><LF>\r\n";
        in_data_ = true;
        scanner_.Reset();
        headers_.Reset();
        dump_.clear();
      }
    } else if (VerbIs(line, "RSET")) {
      ResetTransaction();
      out_ += "250 2.0.0 Ok\r\n";
    } else if (VerbIs(line, "NOOP")) {
      out_ += "250 2.0.0 Ok\r\n";
    } else if (VerbIs(line, "QUIT")) {
      out_ += "221 2.0.0 Bye\r\n";
      quitting_ = true;
    } else if (VerbIs(line, "VRFY")) {
      out_ += "252 2.0.0 Cannot VRFY\r\n";
    } else {
      out_ += "502 5.5.2 command not recognized\r\n";
    }
  }

  void EndOfMessage() {
    in_data_ = false;
    ResetTransaction();
    sink_.Deliver(FindBenchId(headers_.header()), dump_enabled_ ? &dump_ : nullptr);
    out_ += "250 2.0.0 Ok: queued\r\n";
  }

  void ResetTransaction() {
    has_mail_ = false;
    rcpts_ = 0;
  }

  void Flush() {
    if (out_.empty() || closed_) {
      if (quitting_ && pending_writes_ == 0) CloseNow();
      return;
    }
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    size_t off = 0;
    if (pending_writes_ == 0) {  // keep order: only try_write when nothing is queued
      uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
      int rc = uv_try_write(stream, &b, 1);
      if (rc > 0) {
        off = static_cast<size_t>(rc);
      } else if (rc != UV_EAGAIN) {
        CloseNow();
        return;
      }
    }
    if (off < out_.size()) {
      auto* w = new SinkWrite;
      w->data.assign(out_, off, std::string::npos);
      w->req.data = w;
      w->session = this;
      uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
      ++pending_writes_;
      if (uv_write(&w->req, stream, &b, 1, &OnWritten) < 0) {
        --pending_writes_;
        delete w;
        CloseNow();
        return;
      }
    }
    out_.clear();
    if (quitting_ && pending_writes_ == 0) CloseNow();
  }

  Sink& sink_;
  bool dump_enabled_;
  uv_tcp_t tcp_{};
  bool closed_ = false;
  bool quitting_ = false;
  bool in_data_ = false;
  bool has_mail_ = false;
  int rcpts_ = 0;
  int pending_writes_ = 0;
  std::string line_;
  std::string out_;
  std::string dump_;
  DataScanner scanner_;
  HeaderCollector headers_;
  char read_buf_[64 * 1024];
};

Sink::Sink(uv_loop_t* loop, DeliveryFn on_delivery, std::string dump_dir)
    : loop_(loop), on_delivery_(std::move(on_delivery)), dump_dir_(std::move(dump_dir)) {
  listener_.data = this;
}

Sink::~Sink() {
  for (auto* s : sessions_) delete s;  // only reached after Close() in normal runs
}

std::string Sink::Listen(const std::string& host, int port) {
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return "--sink: '" + host + "' is not a numeric IP address";
  }
  uv_tcp_init(loop_, &listener_);
  listening_ = true;
  int rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, &OnConnection);
  if (rc < 0) {
    return "--sink: cannot listen on " + host + ":" + std::to_string(port) + ": " + uv_strerror(rc);
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return "";
}

void Sink::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Sink*>(server->data);
  if (status < 0 || self->closing_) return;
  auto* s = new SinkSession(*self, !self->dump_dir_.empty());
  uv_tcp_init(self->loop_, s->tcp());
  self->sessions_.insert(s);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(s->tcp())) != 0) {
    s->CloseNow();
    return;
  }
  s->Start();
}

void Sink::SessionClosed(SinkSession* s) {
  sessions_.erase(s);
  delete s;
  MaybeClosed();
}

void Sink::Deliver(const std::optional<std::string>& bench_id, const std::string* dump) {
  on_delivery_(bench_id);
  if (!dump) return;
  std::string name;
  if (bench_id) {
    for (char c : *bench_id) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.';
      name.push_back(ok ? c : '_');
    }
  } else {
    name = "foreign-" + std::to_string(dump_counter_);
  }
  ++dump_counter_;
  std::filesystem::path path = std::filesystem::path(dump_dir_) / (name + ".eml");
  std::error_code ec;
  for (int dup = 1; std::filesystem::exists(path, ec); ++dup) {
    path = std::filesystem::path(dump_dir_) / (name + ".dup" + std::to_string(dup) + ".eml");
  }
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(dump->data(), 1, dump->size(), f);
    std::fclose(f);
  } else {
    std::fprintf(stderr, "smimegate-bench-smtp: cannot write %s\n", path.c_str());
  }
}

void Sink::Close(std::function<void()> on_closed) {
  on_closed_ = std::move(on_closed);
  closing_ = true;
  if (listening_ && !listener_closed_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &OnListenerClosed);
  } else {
    listener_closed_ = true;
  }
  // Copy: CloseNow only schedules; sessions erase themselves in their close callback.
  std::vector<SinkSession*> open(sessions_.begin(), sessions_.end());
  for (auto* s : open) s->CloseNow();
  MaybeClosed();
}

void Sink::OnListenerClosed(uv_handle_t* h) {
  auto* self = static_cast<Sink*>(h->data);
  self->listener_closed_ = true;
  self->MaybeClosed();
}

void Sink::MaybeClosed() {
  if (closing_ && listener_closed_ && sessions_.empty() && on_closed_) {
    auto fn = std::move(on_closed_);
    on_closed_ = nullptr;
    fn();
  }
}

}  // namespace sg::bench::loadgen
