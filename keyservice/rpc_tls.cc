#include "keyservice/rpc_tls.h"

#include "keyservice/credentials_files.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace sg::keyservice {
namespace {

Result<std::string> ReadPemFile(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kInvalidArgument, "keyservice.tls." + key + ": cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Inode, size and modification time: what a rewrite or a Kubernetes
// Secret update (a symlink swap) changes.
struct FileStamp {
  ino_t inode = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return FileStamp{};
  return FileStamp{st.st_ino, st.st_size,
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

class FileSource : public TlsMaterialSource {
 public:
  FileSource(std::string cert, std::string key, std::string ca)
      : cert_(std::move(cert)), key_(std::move(key)), ca_(std::move(ca)) {}

  Result<TlsMaterial> Load() override {
    FileStamp stamps[3] = {Stamp(cert_), Stamp(key_), Stamp(ca_)};
    TlsMaterial m;
    SG_ASSIGN_OR_RETURN(m.cert_chain_pem, ReadPemFile(cert_, "cert_file"));
    SG_ASSIGN_OR_RETURN(m.private_key_pem, ReadPemFile(key_, "key_file"));
    SG_ASSIGN_OR_RETURN(m.client_ca_pem, ReadPemFile(ca_, "client_ca_file"));
    SG_RETURN_IF_ERROR(CheckTlsMaterial(m, "keyservice.tls (" + cert_ + ", " + key_ + ", " + ca_ + ")"));
    for (int i = 0; i < 3; ++i) loaded_[i] = stamps[i];
    return m;
  }

  bool Changed() override {
    return !(Stamp(cert_) == loaded_[0] && Stamp(key_) == loaded_[1] && Stamp(ca_) == loaded_[2]);
  }

  std::string Describe() const override { return "files " + cert_ + ", " + key_ + ", " + ca_; }

 private:
  std::string cert_, key_, ca_;
  FileStamp loaded_[3];
};

class InternalSource : public TlsMaterialSource {
 public:
  InternalSource(const InternalCa& ca, std::string server_name, std::chrono::hours validity,
                 const Clock& clock)
      : ca_(ca), server_name_(std::move(server_name)), validity_(validity), clock_(clock) {}

  Result<TlsMaterial> Load() override {
    SG_ASSIGN_OR_RETURN(TlsIdentity id, ca_.IssueServer(server_name_, validity_));
    renew_at_ = clock_.Now() + validity_ * 2 / 3;
    return TlsMaterial{std::move(id.cert_chain_pem), std::move(id.private_key_pem), ca_.CaPem()};
  }

  bool Changed() override { return clock_.Now() >= renew_at_; }

  std::string Describe() const override { return "the internal CA"; }

 private:
  const InternalCa& ca_;
  std::string server_name_;
  std::chrono::hours validity_;
  const Clock& clock_;
  std::chrono::system_clock::time_point renew_at_{};
};

}  // namespace

Status CheckTlsMaterial(const TlsMaterial& m, const std::string& where) {
  return CheckPemIdentity(m.cert_chain_pem, m.private_key_pem, m.client_ca_pem,
                          where + ": the certificate file", where + ": the key file",
                          where + ": the client CA file");
}

std::unique_ptr<TlsMaterialSource> FileTlsSource(std::string cert_file, std::string key_file,
                                                 std::string client_ca_file) {
  return std::make_unique<FileSource>(std::move(cert_file), std::move(key_file),
                                      std::move(client_ca_file));
}

std::unique_ptr<TlsMaterialSource> InternalTlsSource(const InternalCa& ca, std::string server_name,
                                                     std::chrono::hours validity, const Clock& clock) {
  return std::make_unique<InternalSource>(ca, std::move(server_name), validity, clock);
}

}  // namespace sg::keyservice
