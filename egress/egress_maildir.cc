#include "egress/egress_maildir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace sg::egress {
namespace {

std::atomic<uint64_t> g_counter{0};

Status WriteAll(int fd, const std::string& data, const std::string& file) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kIoError, "maildir write " + file + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kIoError, "maildir open " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return MakeError(ErrorCode::kIoError, "maildir fsync " + dir + ": " + std::strerror(errno));
  return OkStatus();
}

// Keeps envelope addresses on one line in the header we prepend.
std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

}  // namespace

Status MaildirWriter::Init() {
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::error_code ec;
    std::filesystem::create_directories(path_ + "/" + sub, ec);
    if (ec) {
      return MakeError(ErrorCode::kIoError,
                       "maildir " + path_ + "/" + sub + ": cannot create: " + ec.message());
    }
  }
  return OkStatus();
}

Status MaildirWriter::Deliver(const std::string& mail_from, const std::string& recipient,
                              const std::string& message) {
  SG_RETURN_IF_ERROR(Init());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  for (char* p = host; *p; ++p) {
    if (*p == '/' || *p == ':') *p = '_';  // forbidden in Maildir names
  }
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  const std::string name = std::to_string(ts.tv_sec) + ".M" + std::to_string(ts.tv_nsec / 1000) +
                           "P" + std::to_string(getpid()) + "Q" + std::to_string(++g_counter) +
                           "R" + std::to_string(rng() & 0xffffffffULL) + "." + host;
  const std::string tmp = path_ + "/tmp/" + name;
  const std::string dst = path_ + "/new/" + name;

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError(ErrorCode::kIoError, "maildir create " + tmp + ": " + std::strerror(errno));
  std::string head = "Return-Path: <" + OneLine(mail_from) + ">\r\nDelivered-To: " +
                     OneLine(recipient) + "\r\n";
  Status st = WriteAll(fd, head, tmp);
  if (st.ok()) st = WriteAll(fd, message, tmp);
  if (st.ok() && ::fsync(fd) != 0) {
    st = MakeError(ErrorCode::kIoError, "maildir fsync " + tmp + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return MakeError(ErrorCode::kIoError, "maildir rename to " + dst + ": " + std::strerror(errno));
  }
  return SyncDir(path_ + "/new");
}

}  // namespace sg::egress
