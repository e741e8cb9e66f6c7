#include "portal/portal_kek.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ascii.h"
#include "common/mail/base64.h"

namespace sg::portal {
namespace {

std::string Trim(const std::string& s) { return std::string(AsciiTrim(s)); }

Status CreateKekFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  SecretKey key = SecretKey::Random();
  std::string raw = key.Bytes();
  std::string text = mail::Base64EncodeOneLine(raw) + "\n";
  Wipe(raw);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    Wipe(text);
    return MakeError(ErrorCode::kIoError,
                     "portal.kek_file: cannot create " + path + ": " + std::strerror(errno));
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  Wipe(text);
  if (!ok) return MakeError(ErrorCode::kIoError, "portal.kek_file: cannot write " + path);
  return OkStatus();
}

}  // namespace

Result<SecretKey> ParseKeyMaterial(const std::string& material, const std::string& where) {
  if (material.size() == SecretKey::kSize) return SecretKey::FromBytes(material);
  std::string trimmed = Trim(material);
  Result<SecretKey> out = MakeError(ErrorCode::kInvalidArgument, "");
  if (trimmed.size() == 64 &&
      std::all_of(trimmed.begin(), trimmed.end(),
                  [](unsigned char c) { return std::isxdigit(c) != 0; })) {
    std::string raw(32, '\0');
    for (size_t i = 0; i < 32; ++i) {
      raw[i] = static_cast<char>(std::stoi(trimmed.substr(i * 2, 2), nullptr, 16));
    }
    out = SecretKey::FromBytes(raw);
    Wipe(raw);
  } else if (trimmed.size() == 44 && trimmed[43] == '=' && trimmed[42] != '=') {
    auto raw = mail::Base64DecodeStrict(trimmed);
    if (raw.ok()) {
      out = SecretKey::FromBytes(*raw);
      Wipe(*raw);
    }
  }
  Wipe(trimmed);
  if (out.ok()) return out;
  return MakeError(ErrorCode::kInvalidArgument,
                   where + ": the portal key-encryption key must be 32 bytes (raw, 64 hex digits "
                           "or 44 characters of base64); create one with `openssl rand -base64 32`");
}

Result<SecretKey> LoadKek(const KekSource& source) {
  if (!source.file.empty()) {
    struct stat st {};
    if (::stat(source.file.c_str(), &st) != 0) {
      if (!source.create) {
        return MakeError(ErrorCode::kNotFound,
                         "portal.kek_file: " + source.file +
                             " not found; the portal cannot open its messages without its "
                             "key-encryption key (set kek_create: true on a new installation)");
      }
      SG_RETURN_IF_ERROR(CreateKekFile(source.file));
      if (::stat(source.file.c_str(), &st) != 0) {
        return MakeError(ErrorCode::kIoError, "portal.kek_file: cannot read " + source.file);
      }
    }
    if ((st.st_mode & 077) != 0) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "portal.kek_file: " + source.file +
                           " may be read by group or others; make it private with chmod 600");
    }
    std::ifstream in(source.file, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kIoError, "portal.kek_file: cannot read " + source.file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string material = ss.str();
    auto kek = ParseKeyMaterial(material, "portal.kek_file " + source.file);
    Wipe(material);
    return kek;
  }
  const char* value = std::getenv(source.env.c_str());
  if (value == nullptr || *value == '\0') {
    return MakeError(ErrorCode::kNotFound,
                     "portal: no key-encryption key: set portal.kek_file or the environment "
                     "variable " + source.env);
  }
  return ParseKeyMaterial(value, "environment variable " + source.env);
}

}  // namespace sg::portal
