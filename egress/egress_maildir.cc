#include "egress/egress_maildir.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace sg::egress {
namespace {

std::atomic<uint64_t> g_counter{0};
constexpr const char* kTmpPrefix = "sg-tmp.";

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

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Writes the copy to a fresh file in tmp/ and fsyncs it.
Status WriteTmp(const std::string& tmp, const MaildirDelivery& d, const std::string& message) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError(ErrorCode::kIoError, "maildir create " + tmp + ": " + std::strerror(errno));
  std::string head = "Return-Path: <" + OneLine(d.mail_from) + ">\r\nDelivered-To: " +
                     OneLine(d.recipient) + "\r\n";
  Status st = WriteAll(fd, head, tmp);
  if (st.ok()) st = WriteAll(fd, message, tmp);
  if (st.ok() && ::fsync(fd) != 0) {
    st = MakeError(ErrorCode::kIoError, "maildir fsync " + tmp + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace

std::string MaildirWriter::FileName(const MaildirDelivery& d) {
  // NUL separators: no field can run into the next.
  std::string key = d.message_id;
  key.push_back('\0');
  key += d.form_id;
  key.push_back('\0');
  key += d.recipient;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string h;
  for (unsigned int i = 0; i < 16 && i < len; ++i) {
    h.push_back(hex[md[i] >> 4]);
    h.push_back(hex[md[i] & 15]);
  }
  return std::to_string(d.received_at_ms / 1000) + ".S" + h + ".smimegate";
}

Status MaildirWriter::Init() {
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::error_code ec;
    std::filesystem::create_directories(path_ + "/" + sub, ec);
    if (ec) {
      return MakeError(ErrorCode::kIoError,
                       "maildir " + path_ + "/" + sub + ": cannot create: " + ec.message());
    }
  }
  // Leftovers of a run killed between writing and linking. Another egress
  // process may be writing one now: only old ones go.
  std::error_code ec;
  const auto cutoff = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& e : std::filesystem::directory_iterator(path_ + "/tmp", ec)) {
    if (e.path().filename().string().rfind(kTmpPrefix, 0) != 0) continue;
    std::error_code ignored;
    if (e.last_write_time(ignored) < cutoff) std::filesystem::remove(e.path(), ignored);
  }
  return OkStatus();
}

bool MaildirWriter::InCur(const std::string& name) const {
  const std::string cur = path_ + "/cur/" + name;
  return Exists(cur) || Exists(cur + ":2,") || Exists(cur + ":2,S");
}

Result<bool> MaildirWriter::Deliver(const MaildirDelivery& d, const std::string& message) {
  if (!Exists(path_ + "/tmp") || !Exists(path_ + "/new")) {
    std::error_code ec;
    std::filesystem::create_directories(path_ + "/tmp", ec);
    std::filesystem::create_directories(path_ + "/new", ec);
    std::filesystem::create_directories(path_ + "/cur", ec);
  }
  const std::string name = FileName(d);
  const std::string dst = path_ + "/new/" + name;
  if (Exists(dst) || InCur(name)) return false;
  // The tmp name is unique per process and call: several egress processes
  // may deliver into one Maildir.
  const std::string tmp = path_ + "/tmp/" + kTmpPrefix + name + "." + std::to_string(getpid()) +
                          "." + std::to_string(++g_counter);
  SG_RETURN_IF_ERROR(WriteTmp(tmp, d, message));
  const int rc = ::link(tmp.c_str(), dst.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && link_errno != EEXIST) {
    return MakeError(ErrorCode::kIoError, "maildir link to " + dst + ": " + std::strerror(link_errno));
  }
  // Also on EEXIST: the other writer's link may not be synced yet.
  SG_RETURN_IF_ERROR(SyncDir(path_ + "/new"));
  return rc == 0;
}

}  // namespace sg::egress
