#include "workers/policy/policy_content.h"

#include <algorithm>

#include "common/ascii.h"

namespace sg::workers {
namespace {

bool IsWinmail(const smime::MimeEntity& entity, const smime::ContentType& ct) {
  if (AsciiLower(ct.Param("name")) == "winmail.dat") return true;
  const smime::HeaderField* cd = smime::FindField(entity, "Content-Disposition");
  if (cd == nullptr) return false;
  // Content-Disposition parameters have the Content-Type syntax after the token.
  auto disposition = smime::ParseContentType("x/" + smime::FieldValue(*cd));
  return AsciiLower(disposition.Param("filename")) == "winmail.dat";
}

std::string Walk(std::string_view bytes, const smime::MimeLimits& limits, int depth,
                 size_t& parts) {
  if (depth > limits.max_depth || ++parts > limits.max_parts) return {};
  auto entity = smime::ParseEntity(bytes, limits);
  if (!entity.ok()) return {};
  const smime::ContentType ct = smime::EntityContentType(*entity);
  const std::string mime = ct.Mime();
  if (mime == "text/calendar" || mime == "application/ms-tnef" ||
      mime == "application/vnd.ms-tnef") {
    return mime;
  }
  if (IsWinmail(*entity, ct)) return "application/ms-tnef";
  if (ct.type != "multipart") return {};
  const std::string boundary = ct.Param("boundary");
  if (boundary.empty()) return {};
  auto mp = smime::SplitMultipart(entity->body, boundary, limits);
  if (!mp.ok()) return {};
  for (std::string_view part : mp->parts) {
    std::string found = Walk(part, limits, depth + 1, parts);
    if (!found.empty()) return found;
  }
  return {};
}

}  // namespace

std::string NeverEncryptPart(std::string_view message, const smime::MimeLimits& limits) {
  size_t parts = 0;
  return Walk(message, limits, 0, parts);
}

bool CompanyConfidential(std::string_view message) {
  auto entity = smime::ParseEntity(message, smime::MimeLimits{});
  if (!entity.ok()) return false;
  const smime::HeaderField* f = smime::FindField(*entity, "Sensitivity");
  return f != nullptr && AsciiLower(smime::FieldValue(*f)) == "company-confidential";
}

std::string FromAddress(std::string_view message) {
  auto entity = smime::ParseEntity(message, smime::MimeLimits{});
  if (!entity.ok()) return {};
  const smime::HeaderField* f = smime::FindField(*entity, "From");
  if (f == nullptr) return {};
  return smime::FirstMailbox(smime::FieldValue(*f));
}

}  // namespace sg::workers
