// A scripted SMTP server for SmtpSession tests: a thread with blocking
// sockets on loopback that plays one connection as the test says, and a
// libuv loop the test drives.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace sg::egress::testing {

// One accepted connection of the scripted server.
class ServerConn {
 public:
  explicit ServerConn(int fd) : fd_(fd) {}
  ~ServerConn() { close(fd_); }
  void Send(const std::string& s) { (void)!write(fd_, s.data(), s.size()); }
  // The next CRLF line (without CRLF); "" on EOF.
  std::string Line() {
    while (true) {
      auto nl = buf_.find("\r\n");
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        return line;
      }
      char tmp[4096];
      ssize_t n = read(fd_, tmp, sizeof(tmp));
      if (n <= 0) {
        eof_ = true;
        return "";
      }
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  // True when more bytes arrive within `ms` (buffered ones count).
  bool MoreWithin(int ms) {
    if (!buf_.empty()) return true;
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
  }
  // Reads and discards up to `n` bytes; how many were read (fewer on EOF).
  size_t Discard(size_t n) {
    size_t done = std::min(n, buf_.size());
    buf_.erase(0, done);
    char tmp[65536];
    while (done < n) {
      ssize_t r = read(fd_, tmp, std::min(sizeof(tmp), n - done));
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }
  // Reads the message data up to the lone dot.
  std::string Data() {
    std::string out;
    while (true) {
      std::string l = Line();
      if (eof_ || l == ".") return out;
      out += l + "\r\n";
    }
  }

 private:
  int fd_;
  bool eof_ = false;
  std::string buf_;
};

class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(ServerConn&)> script) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_));
    socklen_t len = sizeof(addr_);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
    listen(listen_fd_, 1);
    thread_ = std::thread([this, script = std::move(script)] {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ServerConn conn(fd);
      script(conn);
    });
  }
  ~ScriptedServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
  }
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&addr_); }

 private:
  int listen_fd_;
  sockaddr_in addr_{};
  std::thread thread_;
};

struct Loop {
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  void RunUntil(const std::function<bool()>& done) {
    while (!done()) uv_run(&loop, UV_RUN_ONCE);
  }
  uv_loop_t loop;
};

// Lets the server thread go one step at a time: Wait() blocks until the
// test has called Open() once more.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    ++tickets_;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return tickets_ > 0; });
    --tickets_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int tickets_ = 0;
};

}  // namespace sg::egress::testing
