#include "workers/smime/smime_mime.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>

#include "common/ascii.h"

namespace sg::smime {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) { return AsciiTrim(s, " \t\r\n"); }

// Header field names are printable ASCII except colon (RFC 5322 2.2).
bool ValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > 32 && c < 127 && c != ':'; });
}

}  // namespace

bool NameIs(std::string_view name, std::string_view want) {
  return AsciiEqualsIgnoreCase(name, want);
}

bool IsContentField(std::string_view name) {
  return name.size() > 8 && NameIs(name.substr(0, 8), "content-");
}

Result<MimeEntity> ParseEntity(std::string_view bytes, const MimeLimits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "message: larger than the configured limit of " +
                         std::to_string(limits.max_message_bytes) + " bytes");
  }
  MimeEntity entity;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t lf = bytes.find('\n', pos);
    size_t next = lf == std::string_view::npos ? bytes.size() : lf + 1;
    std::string_view line = bytes.substr(pos, next - pos);
    std::string_view content = line;
    if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (content.empty()) {
      entity.header_block = bytes.substr(0, pos);
      entity.body = bytes.substr(next);
      entity.has_separator = true;
      return entity;
    }
    if (IsWsp(content.front())) {
      if (entity.fields.empty()) break;  // not a header block at all: body starts here
      HeaderField& last = entity.fields.back();
      last.raw = std::string_view(last.raw.data(), last.raw.size() + line.size());
    } else {
      size_t colon = content.find(':');
      if (colon == std::string_view::npos) break;  // first non-header line starts the body
      std::string_view name = content.substr(0, colon);
      while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);  // obsolete "Name :"
      if (!ValidFieldName(name)) break;
      if (entity.fields.size() >= limits.max_header_fields) {
        return MakeError(
            ErrorCode::kResourceExhausted,
            "message header: more than " + std::to_string(limits.max_header_fields) + " fields");
      }
      entity.fields.push_back(HeaderField{name, line});
    }
    if (next > limits.max_header_bytes) {
      return MakeError(ErrorCode::kResourceExhausted, "message header: block larger than " +
                                                          std::to_string(limits.max_header_bytes) +
                                                          " bytes");
    }
    pos = next;
  }
  entity.header_block = bytes.substr(0, pos);
  entity.body = bytes.substr(pos);
  entity.has_separator = false;
  return entity;
}

std::string FieldValue(const HeaderField& field) {
  std::string_view raw = field.raw;
  size_t colon = raw.find(':');
  std::string_view v = colon == std::string_view::npos ? std::string_view() : raw.substr(colon + 1);
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return std::string(Trim(out));
}

const HeaderField* FindField(const MimeEntity& entity, std::string_view name) {
  for (const HeaderField& f : entity.fields) {
    if (NameIs(f.name, name)) return &f;
  }
  return nullptr;
}

std::string ContentType::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

ContentType ParseContentType(std::string_view value) {
  ContentType ct;
  size_t i = 0;
  auto skip_cfws = [&] {
    while (i < value.size()) {
      if (IsWsp(value[i]) || value[i] == '\r' || value[i] == '\n') {
        ++i;
      } else if (value[i] == '(') {  // comment, possibly nested
        int depth = 0;
        while (i < value.size()) {
          if (value[i] == '\\') {  // quoted pair; a trailing '\' ends the value
            i = std::min(i + 2, value.size());
            continue;
          }
          if (value[i] == '(') ++depth;
          if (value[i] == ')' && --depth == 0) {
            ++i;
            break;
          }
          ++i;
        }
      } else {
        break;
      }
    }
  };
  auto token = [&] {
    size_t start = i;
    while (i < value.size() && value[i] != ';' && value[i] != '=' && value[i] != '(' &&
           !IsWsp(value[i]) && value[i] != '\r' && value[i] != '\n') {
      ++i;
    }
    return value.substr(start, i - start);
  };
  skip_cfws();
  std::string mime = AsciiLower(token());
  size_t slash = mime.find('/');
  if (slash != std::string::npos && slash > 0 && slash + 1 < mime.size()) {
    ct.type = mime.substr(0, slash);
    ct.subtype = mime.substr(slash + 1);
  }
  while (i < value.size()) {
    skip_cfws();
    if (i < value.size() && value[i] != ';') {  // junk: skip to the next parameter
      while (i < value.size() && value[i] != ';') ++i;
    }
    if (i >= value.size()) break;
    ++i;  // ';'
    skip_cfws();
    std::string name = AsciiLower(token());
    skip_cfws();
    if (i >= value.size() || value[i] != '=') continue;
    ++i;
    skip_cfws();
    std::string val;
    if (i < value.size() && value[i] == '"') {
      ++i;
      while (i < value.size() && value[i] != '"') {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        if (value[i] != '\r' && value[i] != '\n') val.push_back(value[i]);
        ++i;
      }
      if (i < value.size()) ++i;
    } else {
      val = std::string(token());
    }
    if (name.empty()) continue;
    if (ct.params.count(name) != 0) {
      if (std::find(ct.duplicate_params.begin(), ct.duplicate_params.end(), name) ==
          ct.duplicate_params.end()) {
        ct.duplicate_params.push_back(name);
      }
      continue;
    }
    ct.params.emplace(std::move(name), std::move(val));
  }
  return ct;
}

std::string AmbiguousField(const MimeEntity& entity) {
  static constexpr std::string_view kSingle[] = {"From", "Subject", "Content-Type"};
  const HeaderField* content_type = nullptr;
  for (std::string_view name : kSingle) {
    int seen = 0;
    for (const HeaderField& f : entity.fields) {
      if (!NameIs(f.name, name)) continue;
      if (++seen > 1) return std::string(name);
      if (name == "Content-Type") content_type = &f;
    }
  }
  if (content_type != nullptr) {
    ContentType ct = ParseContentType(FieldValue(*content_type));
    if (!ct.duplicate_params.empty()) {
      return "Content-Type parameter " + ct.duplicate_params.front();
    }
  }
  return {};
}

ContentType EntityContentType(const MimeEntity& entity) {
  const HeaderField* f = FindField(entity, "Content-Type");
  if (f == nullptr) return ContentType{};
  return ParseContentType(FieldValue(*f));
}

std::string EntityTransferEncoding(const MimeEntity& entity) {
  const HeaderField* f = FindField(entity, "Content-Transfer-Encoding");
  if (f == nullptr) return "7bit";
  std::string v = AsciiLower(FieldValue(*f));
  size_t end = v.find_first_of(" \t;(");
  if (end != std::string::npos) v.resize(end);
  return v.empty() ? "7bit" : v;
}

Result<Multipart> SplitMultipart(std::string_view body, std::string_view boundary,
                                 const MimeLimits& limits) {
  if (boundary.empty() || boundary.size() > 200) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "multipart: missing or invalid boundary parameter");
  }
  std::string delim = "--" + std::string(boundary);
  Multipart mp;
  bool started = false;
  size_t part_start = 0;
  size_t search = 0;
  while (true) {
    size_t p = body.find(delim, search);
    if (p == std::string_view::npos) break;
    if (p != 0 && body[p - 1] != '\n') {
      search = p + 1;
      continue;
    }
    size_t after = p + delim.size();
    bool close = body.substr(after, 2) == "--";
    size_t q = close ? after + 2 : after;
    size_t eol = body.find('\n', q);
    size_t line_end = eol == std::string_view::npos ? body.size() : eol;
    bool only_space = std::all_of(body.begin() + static_cast<std::ptrdiff_t>(q),
                                  body.begin() + static_cast<std::ptrdiff_t>(line_end),
                                  [](char c) { return IsWsp(c) || c == '\r'; });
    if (!only_space) {
      search = p + 1;
      continue;
    }
    size_t content_end = p;
    if (content_end > 0 && body[content_end - 1] == '\n') {
      --content_end;
      if (content_end > 0 && body[content_end - 1] == '\r') --content_end;
    }
    if (!started) {
      mp.has_preamble = p > 0;
      mp.preamble = body.substr(0, p == 0 ? 0 : content_end);
      started = true;
    } else {
      if (content_end < part_start) content_end = part_start;
      mp.parts.push_back(body.substr(part_start, content_end - part_start));
      if (mp.parts.size() > limits.max_parts) {
        return MakeError(ErrorCode::kResourceExhausted,
                         "multipart: more than " + std::to_string(limits.max_parts) + " parts");
      }
    }
    part_start = eol == std::string_view::npos ? body.size() : eol + 1;
    if (close) {
      mp.closed = true;
      mp.has_epilogue = eol != std::string_view::npos;
      mp.epilogue = body.substr(part_start);
      return mp;
    }
    search = part_start;
  }
  if (!started) {
    return MakeError(ErrorCode::kInvalidArgument, "multipart: boundary \"" + std::string(boundary) +
                                                      "\" never occurs in the body");
  }
  mp.parts.push_back(body.substr(part_start));  // truncated: no close delimiter
  return mp;
}

bool IsCrlfClean(std::string_view in) {
  // Clean <=> every CR is followed by LF and every LF preceded by CR, i.e.
  // (in[i] == CR) == (in[i+1] == LF) for each adjacent pair, the first byte
  // is no LF and the last no CR. One branch-free pass per 256-byte block (the
  // compiler vectorises it); the old memchr-per-line + count took two passes.
  const size_t n = in.size();
  if (n == 0) return true;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  if (p[0] == '\n' || p[n - 1] == '\r') return false;
  for (size_t i = 0; i + 1 < n;) {
    const size_t end = std::min(n - 1, i + 256);
    unsigned char bad = 0;
    for (; i < end; ++i) {
      bad |= static_cast<unsigned char>((p[i] == '\r') ^ (p[i + 1] == '\n'));
    }
    if (bad != 0) return false;
  }
  return true;
}

std::string ToCrlf(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32 + 2);
  size_t pos = 0;
  while (pos < in.size()) {
    size_t lf = in.find('\n', pos);
    bool has_lf = lf != std::string_view::npos;
    std::string_view seg = in.substr(pos, (has_lf ? lf : in.size()) - pos);
    if (has_lf && !seg.empty() && seg.back() == '\r') seg.remove_suffix(1);
    if (seg.find('\r') == std::string_view::npos) {
      out.append(seg);
    } else {  // bare CRs inside the line: each becomes a line break
      for (char c : seg) {
        if (c == '\r') {
          out += "\r\n";
        } else {
          out.push_back(c);
        }
      }
    }
    if (has_lf) out += "\r\n";
    pos = has_lf ? lf + 1 : in.size();
  }
  return out;
}

std::string QpEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find("\r\n", pos);
    bool has_break = eol != std::string_view::npos;
    std::string_view line = text.substr(pos, (has_break ? eol : text.size()) - pos);
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
      if (col + (literal ? 1 : 3) > 75) {
        out += "=\r\n";  // soft line break
        col = 0;
      }
      // At the start of an encoded line, whether the text's own or one made
      // by a soft break, "From " and "." are encoded: a relay would rewrite
      // them (">From ", dot-stuffing) and break a signature.
      if (col == 0 && (c == '.' || line.substr(i, 5) == "From ")) literal = false;
      if (literal) {
        out += static_cast<char>(c);
        col += 1;
      } else {
        out += '=';
        out += kHex[c >> 4];
        out += kHex[c & 15];
        col += 3;
      }
    }
    if (!has_break) break;
    out += "\r\n";
    pos = eol + 2;
  }
  return out;
}

std::string QpDecode(std::string_view in) {
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  size_t pos = 0;
  while (pos < in.size()) {
    size_t lf = in.find('\n', pos);
    bool has_break = lf != std::string_view::npos;
    std::string_view line = in.substr(pos, (has_break ? lf : in.size()) - pos);
    while (!line.empty() && (line.back() == '\r' || IsWsp(line.back()))) line.remove_suffix(1);
    bool soft = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] != '=') {
        out.push_back(line[i]);
        continue;
      }
      if (i + 1 == line.size()) {
        soft = true;
        break;
      }
      int hi = i + 1 < line.size() ? hexval(line[i + 1]) : -1;
      int lo = i + 2 < line.size() ? hexval(line[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        out.push_back('=');  // RFC 2045 6.7 note: keep malformed sequences literally
      }
    }
    if (has_break && !soft) out += "\r\n";
    pos = has_break ? lf + 1 : in.size();
  }
  return out;
}

Result<std::string> ReplaceHeader(std::string_view message, std::string_view name,
                                  std::string_view new_value, const MimeLimits& limits) {
  if (new_value.find_first_of("\r\n") != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "header " + std::string(name) + ": value contains a line break");
  }
  SG_ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(message, limits));
  const HeaderField* field = FindField(entity, name);
  std::string out;
  out.reserve(message.size() + new_value.size() + name.size() + 4);
  if (field != nullptr) {
    size_t start = static_cast<size_t>(field->raw.data() - message.data());
    std::string_view eol =
        field->raw.size() >= 2 && field->raw.substr(field->raw.size() - 2) == "\r\n" ? "\r\n"
                                                                                     : "\n";
    out.append(message.substr(0, start));
    out.append(field->name).append(": ").append(new_value).append(eol);
    out.append(message.substr(start + field->raw.size()));
  } else {
    size_t at = entity.header_block.size();
    std::string_view eol = message.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
    out.append(message.substr(0, at));
    // A message that is all header may end without a line end.
    if (at > 0 && message[at - 1] != '\n') out.append(eol);
    out.append(name).append(": ").append(new_value).append(eol);
    // A body right at the start that begins with white space would read as a
    // continuation of the new field: the blank line keeps it body.
    if (!entity.has_separator && !entity.body.empty() && IsWsp(entity.body.front())) {
      out.append(eol);
    }
    out.append(message.substr(at));
  }
  return out;
}

Result<std::string> RewriteFields(std::string_view message, const std::vector<FieldEdit>& edits,
                                  const MimeLimits& limits) {
  for (const FieldEdit& e : edits) {
    for (const std::string& v : e.values) {
      if (v.find_first_of("\r\n") != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "header " + std::string(e.name) + ": value contains a line break");
      }
    }
  }
  SG_ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(message, limits));
  const std::string_view eol = message.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
  std::string out;
  size_t extra = 0;
  for (const FieldEdit& e : edits) {
    for (const std::string& v : e.values) extra += e.name.size() + v.size() + 4;
  }
  out.reserve(message.size() + extra);
  std::vector<bool> written(edits.size(), false);
  auto write = [&](size_t i) {
    for (const std::string& v : edits[i].values) {
      out.append(edits[i].name).append(": ").append(v).append(eol);
    }
    written[i] = true;
  };
  for (const HeaderField& f : entity.fields) {
    size_t hit = edits.size();
    for (size_t i = 0; i < edits.size() && hit == edits.size(); ++i) {
      if (NameIs(f.name, edits[i].name)) hit = i;
    }
    if (hit == edits.size()) {
      out.append(f.raw);
      continue;
    }
    if (edits[hit].in_place && !written[hit]) write(hit);
  }
  if (!out.empty() && out.back() != '\n') out.append(eol);  // the last field was unterminated
  for (size_t i = 0; i < edits.size(); ++i) {
    if (!written[i]) write(i);
  }
  out.append(message.substr(entity.header_block.size()));
  return out;
}

namespace {
void InitGmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}
}  // namespace

Result<std::string> TagSubject(std::string_view message, std::string_view tag,
                               const MimeLimits& limits) {
  if (tag.find_first_of("\r\n") != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "subject tag: contains a line break");
  }
  std::string encoded(tag);
  if (std::any_of(tag.begin(), tag.end(),
                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    InitGmime();
    char* enc = g_mime_utils_header_encode_text(nullptr, encoded.c_str(), "utf-8");
    if (enc == nullptr) return MakeError(ErrorCode::kInvalidArgument, "subject tag: cannot encode");
    encoded = enc;
    g_free(enc);
  }
  SG_ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(message, limits));
  const HeaderField* field = FindField(entity, "Subject");
  if (field == nullptr) return ReplaceHeader(message, "Subject", encoded, limits);
  std::string_view raw = field->raw;
  std::string_view rest = raw.substr(raw.find(':') + 1);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.substr(0, encoded.size()) == encoded) return std::string(message);  // already tagged
  size_t start = static_cast<size_t>(raw.data() - message.data());
  std::string out;
  out.reserve(message.size() + encoded.size() + 2);
  out.append(message.substr(0, start));
  out.append(field->name).append(": ").append(encoded);
  // An empty subject: keep the line ending without a dangling space.
  if (!rest.empty() && rest.front() != '\r' && rest.front() != '\n') out.push_back(' ');
  out.append(rest);
  out.append(message.substr(start + raw.size()));
  return out;
}

std::string FirstMailbox(std::string_view header_value) {
  InitGmime();
  std::string value(header_value);
  InternetAddressList* list = internet_address_list_parse(nullptr, value.c_str());
  if (list == nullptr) return {};
  std::string result;
  for (int i = 0; i < internet_address_list_length(list) && result.empty(); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
      if (addr != nullptr) result = AsciiLower(addr);
    }
  }
  g_object_unref(list);
  return result;
}

}  // namespace sg::smime
