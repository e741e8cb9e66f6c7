#include "workers/policy/policy_subject.h"

#include <gmime/gmime.h>

#include <array>
#include <mutex>

#include "common/ascii.h"
#include "workers/smime/smime_mime.h"

namespace sg::workers {
namespace {

void InitGmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// Position of |tag| (lower-case ASCII) in |text|, case-insensitively.
size_t FindTag(const std::string& text, std::string_view tag, size_t from) {
  if (tag.size() > text.size()) return std::string::npos;
  for (size_t i = from; i + tag.size() <= text.size(); ++i) {
    size_t j = 0;
    while (j < tag.size() && AsciiLower(text[i + j]) == tag[j]) ++j;
    if (j == tag.size()) return i;
  }
  return std::string::npos;
}

// Removes every occurrence of |tag|; true when one was found.
bool StripTag(std::string& text, std::string_view tag) {
  bool found = false;
  size_t pos = 0;
  while ((pos = FindTag(text, tag, pos)) != std::string::npos) {
    text.erase(pos, tag.size());
    found = true;
  }
  return found;
}

std::string CollapseSpaces(const std::string& in) {
  std::string out;
  for (char c : in) {
    const bool space = c == ' ' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out.push_back(space ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool IsPlainAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || (c < 0x20 && c != '\t')) return false;
  }
  return s.find("=?") == std::string::npos;  // would read as an encoded word
}

std::string Decode(const std::string& raw) {
  InitGmime();
  char* decoded = g_mime_utils_header_decode_text(nullptr, raw.c_str());
  if (decoded == nullptr) return raw;
  std::string out(decoded);
  g_free(decoded);
  return out;
}

std::string Encode(const std::string& text) {
  InitGmime();
  char* encoded = g_mime_utils_header_encode_text(nullptr, text.c_str(), "utf-8");
  if (encoded == nullptr) return text;
  std::string out(encoded);
  g_free(encoded);
  // GMime may fold long results; a field value we write is one line.
  std::string flat;
  for (char c : out) {
    if (c == '\r') continue;
    if (c == '\n') continue;
    flat.push_back(c);
  }
  return flat;
}

}  // namespace

std::string SubjectTags::Names() const {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ",";
    out += name;
  };
  add(confidential, "confidential");
  add(noenc, "noenc");
  add(nosign, "nosign");
  add(plain, "plain");
  return out;
}

ParsedSubject ParseSubject(std::string_view raw_value) {
  ParsedSubject result;
  const std::string raw(raw_value);
  // Cheap exit: no '[' anywhere and no encoded word that could hide one.
  if (raw.find('[') == std::string::npos && raw.find("=?") == std::string::npos) return result;
  std::string text = Decode(raw);
  result.tags.confidential = StripTag(text, "[confidential]");
  result.tags.noenc = StripTag(text, "[noenc]");
  result.tags.nosign = StripTag(text, "[nosign]");
  result.tags.plain = StripTag(text, "[plain]");
  if (!result.tags.any()) return result;
  text = CollapseSpaces(text);
  size_t lead = 0;
  while (lead < text.size() && text[lead] == ' ') ++lead;
  text.erase(0, lead);
  result.cleaned = IsPlainAscii(text) ? text : Encode(text);
  return result;
}

std::optional<std::string> StripForgedMarks(std::string_view raw_value) {
  const std::string raw(raw_value);
  if (raw.find('[') == std::string::npos && raw.find("=?") == std::string::npos) return std::nullopt;
  std::string text = Decode(raw);
  bool found = StripTag(text, "[secure]");
  found = StripTag(text, "[signed ok]") || found;
  found = StripTag(text, "[signed invalid]") || found;
  if (!found) return std::nullopt;
  text = CollapseSpaces(text);
  size_t lead = 0;
  while (lead < text.size() && text[lead] == ' ') ++lead;
  text.erase(0, lead);
  return IsPlainAscii(text) ? text : Encode(text);
}

std::optional<InboundSubject> StripInboundControls(std::string_view raw_value) {
  const std::string raw(raw_value);
  if (raw.find('[') == std::string::npos && raw.find("=?") == std::string::npos) return std::nullopt;
  std::string text = Decode(raw);
  InboundSubject out;
  for (std::string_view mark : {"[secure]", "[signed ok]", "[signed invalid]"}) {
    out.mark_removed = StripTag(text, mark) || out.mark_removed;
  }
  for (std::string_view tag : {"[confidential]", "[noenc]", "[nosign]", "[plain]"}) {
    out.tag_removed = StripTag(text, tag) || out.tag_removed;
  }
  if (!out.mark_removed && !out.tag_removed) return std::nullopt;
  text = CollapseSpaces(text);
  size_t lead = 0;
  while (lead < text.size() && text[lead] == ' ') ++lead;
  text.erase(0, lead);
  out.value = IsPlainAscii(text) ? text : Encode(text);
  return out;
}

std::string MarkSubject(std::string_view mark, std::string_view raw_value) {
  std::string value(raw_value);
  size_t lead = 0;
  while (lead < value.size() && (value[lead] == ' ' || value[lead] == '\t')) ++lead;
  value.erase(0, lead);
  if (value.empty()) return std::string(mark);
  return std::string(mark) + " " + value;
}

Result<std::string> SetSubject(std::string_view message, std::string_view value) {
  return smime::ReplaceHeader(message, "Subject", value);
}

std::optional<std::string> GetSubject(std::string_view message) {
  auto entity = smime::ParseEntity(message, smime::MimeLimits{});
  if (!entity.ok()) return std::nullopt;
  const smime::HeaderField* f = smime::FindField(*entity, "Subject");
  if (f == nullptr) return std::nullopt;
  return smime::FieldValue(*f);
}

std::string DecodeHeaderText(const std::string& raw) { return Decode(raw); }

}  // namespace sg::workers
