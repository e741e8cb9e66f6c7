#include "keyservice/import_files.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "common/ascii.h"
#include "common/mail/base64.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {
namespace {

std::string Trim(std::string_view s) { return std::string(AsciiTrim(s)); }

// Splits a CSV line (RFC 4180 quoting, no embedded newlines).
Result<std::vector<std::string>> SplitCsv(const std::string& line) {
  std::vector<std::string> fields;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      if (!Trim(cur).empty()) return MakeError(ErrorCode::kInvalidArgument, "quote inside a field");
      cur.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.push_back(was_quoted ? cur : Trim(cur));
      cur.clear();
      was_quoted = false;
    } else {
      cur.push_back(c);
    }
  }
  if (quoted) return MakeError(ErrorCode::kInvalidArgument, "unterminated quoted field");
  fields.push_back(was_quoted ? cur : Trim(cur));
  return fields;
}

}  // namespace

Result<std::vector<User>> ParseUsersCsv(const std::string& text, const std::string& name) {
  std::vector<User> users;
  std::string errors;
  size_t line_no = 0, start = 0;
  bool first_content = true;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);  // UTF-8 BOM
    std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#') {
      if (end == text.size()) break;
      continue;
    }
    auto fail = [&](const std::string& what) {
      errors += name + ":" + std::to_string(line_no) + ": " + what + "\n";
    };
    bool header = first_content && AsciiLower(trimmed).rfind("address", 0) == 0;
    first_content = false;
    if (header) continue;
    auto fields = SplitCsv(line);
    if (!fields.ok()) {
      fail(fields.error().message);
    } else if (fields->size() > 3) {
      fail("expected at most 3 fields (address,participating,tenant), got " +
           std::to_string(fields->size()));
    } else {
      User u;
      auto addr = NormalizeAddress((*fields)[0]);
      if (!addr.ok()) {
        fail(addr.error().message);
      } else {
        u.address = *addr;
        bool ok = true;
        if (fields->size() >= 2 && !(*fields)[1].empty()) {
          std::string p = AsciiLower((*fields)[1]);
          if (p == "yes" || p == "true" || p == "1") {
            u.participating = true;
          } else if (p == "no" || p == "false" || p == "0") {
            u.participating = false;
          } else {
            fail("participating must be yes or no, got \"" + (*fields)[1] + "\"");
            ok = false;
          }
        }
        if (fields->size() == 3) u.tenant = (*fields)[2];
        if (ok) {
          auto dup = std::find_if(users.begin(), users.end(),
                                  [&](const User& x) { return x.address == u.address; });
          if (dup != users.end()) {
            fail(u.address + " is listed twice");
          } else {
            users.push_back(std::move(u));
          }
        }
      }
    }
    if (end == text.size()) break;
  }
  if (!errors.empty()) {
    errors.pop_back();
    return MakeError(ErrorCode::kInvalidArgument, errors);
  }
  if (users.empty()) return MakeError(ErrorCode::kInvalidArgument, name + ": no users in the file");
  return users;
}

Result<std::vector<std::string>> ParseCertificateFile(const std::string& data,
                                                      const std::string& name) {
  static const std::string kBegin = "-----BEGIN CERTIFICATE-----";
  static const std::string kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  if (data.find("-----BEGIN") == std::string::npos) {
    auto cert = ParseCertificateDer(data);
    if (!cert.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       name + ": neither PEM (no -----BEGIN line) nor a DER certificate");
    }
    out.push_back(data);
    return out;
  }
  size_t line_no = 0, start = 0;
  int block = 0;
  size_t begin_line = 0;
  bool inside = false;
  std::string b64;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    std::string line = Trim(data.substr(start, end - start));
    start = end + 1;
    ++line_no;
    auto err = [&](size_t at, const std::string& what) {
      return MakeError(ErrorCode::kInvalidArgument,
                       name + ":" + std::to_string(at) + ": certificate " + std::to_string(block) +
                           " (BEGIN at line " + std::to_string(begin_line) + "): " + what);
    };
    if (!inside) {
      if (line == kBegin) {
        inside = true;
        ++block;
        begin_line = line_no;
        b64.clear();
      } else if (line.rfind("-----BEGIN ", 0) == 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         name + ":" + std::to_string(line_no) + ": " + line +
                             " is not a certificate (expected " + kBegin + ")");
      }
      continue;
    }
    if (line == kEnd) {
      inside = false;
      if (b64.empty()) return err(line_no, "empty");
      auto decoded = mail::Base64Decode(b64);
      if (!decoded.ok()) return err(begin_line + 1, "bad base64");
      std::string der = std::move(*decoded);
      auto cert = ParseCertificateDer(der);
      if (!cert.ok()) return err(begin_line + 1, cert.error().message);
      out.push_back(std::move(der));
      continue;
    }
    if (line.rfind("-----", 0) == 0) return err(line_no, "unexpected \"" + line + "\" before " + kEnd);
    for (char c : line) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) {
        return err(line_no, "bad base64 character '" + std::string(1, c) + "'");
      }
    }
    b64 += line;
  }
  if (inside) {
    return MakeError(ErrorCode::kInvalidArgument,
                     name + ":" + std::to_string(line_no) + ": certificate " +
                         std::to_string(block) + " (BEGIN at line " + std::to_string(begin_line) +
                         "): file ends before " + kEnd);
  }
  if (out.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, name + ": no certificate in the file");
  }
  return out;
}

}  // namespace sg::keyservice
