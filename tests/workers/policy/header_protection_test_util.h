// Reading a delivered form in the header protection tests (RFC 9788 and
// protected-headers="v1"): a top-level field, the body, the header block.
#pragma once

#include <string>

#include "workers/smime/smime_mime.h"

namespace sg::workers::testing {

inline bool Has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The value of the first top-level field |name| ("" when none).
inline std::string TopField(const std::string& message, const std::string& name) {
  auto e = smime::ParseEntity(message, {});
  if (!e.ok()) return "";
  const auto* f = smime::FindField(*e, name);
  return f == nullptr ? "" : smime::FieldValue(*f);
}

// The body of the top-level entity ("" when it does not parse).
inline std::string Body(const std::string& message) {
  auto e = smime::ParseEntity(message, {});
  return e.ok() ? std::string(e->body) : "";
}

// The header block of the top-level entity ("" when it does not parse).
inline std::string HeaderBlock(const std::string& message) {
  auto e = smime::ParseEntity(message, {});
  return e.ok() ? std::string(e->header_block) : "";
}

}  // namespace sg::workers::testing
