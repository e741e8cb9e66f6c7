#include "ingress/smtp_parser.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/ascii.h"
#include "common/mail/address.h"

namespace sg::ingress {
namespace {

constexpr size_t kMaxPath = 256;        // RFC 5321 4.5.3.1.3 (incl. brackets)
constexpr size_t kMaxEnvid = 100;       // RFC 3461 4.4
constexpr size_t kMaxOrcpt = 500;       // RFC 3461 4.2

bool IEquals(std::string_view a, std::string_view b) { return AsciiEqualsIgnoreCase(a, b); }

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

bool IsAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsAtext(unsigned char c) {
  return IsAlpha(c) || IsDigit(c) || std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

Reply Syntax(std::string text) { return MakeReply(501, "5.5.4", std::move(text)); }

// Index of the '>' closing a path that starts at text[0] == '<', honouring
// quoted strings in the local part; npos when there is none.
size_t FindPathEnd(std::string_view text) {
  bool quoted = false;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

std::vector<std::string_view> SplitParams(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool ValidKeyword(std::string_view k) {
  if (k.empty() || !(IsAlpha(k[0]) || IsDigit(k[0]))) return false;
  return std::all_of(k.begin(), k.end(), [](unsigned char c) {
    return IsAlpha(c) || IsDigit(c) || c == '-';
  });
}

bool ValidValue(std::string_view v) {
  if (v.empty()) return false;
  return std::all_of(v.begin(), v.end(), [](unsigned char c) {
    return (c >= 33 && c <= 126 && c != '=') || c >= 128;
  });
}

std::optional<uint64_t> ParseDecimal(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint64_t v = 0;
  for (unsigned char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    uint64_t d = c - '0';
    if (v > (UINT64_MAX - d) / 10) return UINT64_MAX;  // saturate; a limit rejects it
    v = v * 10 + d;
  }
  return v;
}

struct Param {
  std::string keyword;  // upper case
  std::string_view value;
  bool has_value = false;
};

// Splits "KEY=VALUE" tokens; returns an error reply on malformed or duplicate ones.
std::variant<std::vector<Param>, Reply> ParseParams(std::string_view s) {
  std::vector<Param> params;
  for (std::string_view tok : SplitParams(s)) {
    Param p;
    size_t eq = tok.find('=');
    std::string_view key = tok.substr(0, eq);
    if (!ValidKeyword(key)) return Syntax("Bad parameter syntax");
    p.keyword = AsciiUpper(key);
    if (eq != std::string_view::npos) {
      p.value = tok.substr(eq + 1);
      p.has_value = true;
      if (!ValidValue(p.value)) return Syntax("Bad value for parameter " + p.keyword);
    }
    for (const Param& q : params) {
      if (q.keyword == p.keyword) return Syntax("Duplicate parameter " + p.keyword);
    }
    params.push_back(p);
  }
  return params;
}

Reply Unsupported(const std::string& keyword) {
  return MakeReply(555, "5.5.4", "Unsupported parameter " + keyword);
}

std::optional<Reply> ApplyMailParams(const std::vector<Param>& params, MailParams* out) {
  for (const Param& p : params) {
    const std::string& k = p.keyword;
    if (k == "SIZE") {
      auto v = p.has_value ? ParseDecimal(p.value, 20) : std::nullopt;
      if (!v) return Syntax("Bad SIZE value");
      out->size = *v;
    } else if (k == "BODY") {
      if (!p.has_value) return Syntax("BODY needs a value");
      if (IEquals(p.value, "7BIT")) {
        out->body = Body::k7Bit;
      } else if (IEquals(p.value, "8BITMIME")) {
        out->body = Body::k8BitMime;
      } else {
        return MakeReply(555, "5.5.4", "Unsupported BODY value");
      }
    } else if (k == "SMTPUTF8") {
      if (p.has_value) return Syntax("SMTPUTF8 takes no value");
      out->smtputf8 = true;
    } else if (k == "RET") {
      if (p.has_value && IEquals(p.value, "FULL")) {
        out->ret = Ret::kFull;
      } else if (p.has_value && IEquals(p.value, "HDRS")) {
        out->ret = Ret::kHdrs;
      } else {
        return Syntax("Bad RET value");
      }
    } else if (k == "ENVID") {
      auto v = p.has_value ? DecodeXtext(p.value) : std::nullopt;
      if (!v || v->empty() || v->size() > kMaxEnvid) return Syntax("Bad ENVID value");
      out->envid = *v;
    } else if (k == "AUTH") {
      auto v = p.has_value ? DecodeXtext(p.value) : std::nullopt;
      if (!v) return Syntax("Bad AUTH value");
      out->auth = *v;
    } else {
      return Unsupported(k);
    }
  }
  return std::nullopt;
}

std::optional<Reply> ApplyRcptParams(const std::vector<Param>& params, RcptParams* out) {
  for (const Param& p : params) {
    const std::string& k = p.keyword;
    if (k == "NOTIFY") {
      if (!p.has_value) return Syntax("NOTIFY needs a value");
      Notify n;
      n.given = true;
      std::string_view rest = p.value;
      int count = 0;
      while (true) {
        size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        bool* flag = nullptr;
        if (IEquals(item, "NEVER")) {
          flag = &n.never;
        } else if (IEquals(item, "SUCCESS")) {
          flag = &n.success;
        } else if (IEquals(item, "FAILURE")) {
          flag = &n.failure;
        } else if (IEquals(item, "DELAY")) {
          flag = &n.delay;
        }
        if (flag == nullptr || *flag) return Syntax("Bad NOTIFY value");
        *flag = true;
        ++count;
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
      }
      if (n.never && count > 1) return Syntax("NOTIFY=NEVER cannot be combined");
      out->notify = n;
    } else if (k == "ORCPT") {
      if (!p.has_value) return Syntax("ORCPT needs a value");
      size_t semi = p.value.find(';');
      if (semi == std::string_view::npos || semi == 0) return Syntax("Bad ORCPT value");
      std::string_view type = p.value.substr(0, semi);
      if (!std::all_of(type.begin(), type.end(),
                       [](unsigned char c) { return c < 128 && IsAtext(c); })) {
        return Syntax("Bad ORCPT address type");
      }
      auto addr = DecodeXtext(p.value.substr(semi + 1));
      if (!addr || addr->empty() || addr->size() > kMaxOrcpt) return Syntax("Bad ORCPT value");
      out->orcpt = std::string(type) + ";" + *addr;
    } else {
      return Unsupported(k);
    }
  }
  return std::nullopt;
}

// "FROM:" / "TO:" then optional spaces, a path and parameters.
std::optional<Reply> ParseMailOrRcpt(std::string_view rest, bool is_mail, Command* cmd) {
  const std::string_view keyword = is_mail ? "FROM:" : "TO:";
  const char* usage = is_mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>";
  if (!IStartsWith(rest, keyword)) return Syntax(usage);
  rest.remove_prefix(keyword.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  Reply bad = is_mail ? MakeReply(501, "5.1.7", "Bad sender address syntax")
                      : MakeReply(501, "5.1.3", "Bad recipient address syntax");
  if (rest.empty() || rest.front() != '<') return bad;
  size_t end = FindPathEnd(rest);
  if (end == std::string_view::npos) return bad;
  auto path = ParsePath(rest.substr(0, end + 1), is_mail, !is_mail);
  if (!path) return bad;
  cmd->path = std::move(*path);
  std::string_view params = rest.substr(end + 1);
  if (!params.empty() && params.front() != ' ') return bad;
  auto parsed = ParseParams(params);
  if (auto* r = std::get_if<Reply>(&parsed)) return *r;
  const auto& list = std::get<std::vector<Param>>(parsed);
  return is_mail ? ApplyMailParams(list, &cmd->mail) : ApplyRcptParams(list, &cmd->rcpt);
}

std::optional<Reply> NoArgument(std::string_view rest, const char* verb) {
  if (!rest.empty()) return Syntax(std::string("Syntax: ") + verb + " takes no argument");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> DecodeXtext(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      auto hex = [](unsigned char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;  // lenient: lower case seen in the wild
        return -1;
      };
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
      continue;
    }
    if (c < 33 || c > 126 || c == '=') return std::nullopt;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::optional<Path> ParsePath(std::string_view text, bool allow_null, bool allow_postmaster) {
  if (text.size() < 2 || text.front() != '<' || text.back() != '>') return std::nullopt;
  if (text.size() > kMaxPath) return std::nullopt;
  std::string_view inner = text.substr(1, text.size() - 2);
  Path path;
  if (inner.empty()) {
    if (!allow_null) return std::nullopt;
    path.null = true;
    return path;
  }
  if (inner.front() == '@') {
    // A-d-l: "@one,@two:" -- obsolete source route, accepted and ignored.
    size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view adl = inner.substr(0, colon);
    size_t pos = 0;
    while (pos < adl.size()) {
      if (adl[pos] != '@') return std::nullopt;
      size_t comma = adl.find(',', pos);
      std::string_view dom = adl.substr(pos + 1, comma == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : comma - pos - 1);
      if (dom.empty() || dom.back() == '.' || !mail::NormalizeDomain(dom).ok()) {
        return std::nullopt;
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
    inner.remove_prefix(colon + 1);
  }
  if (allow_postmaster && IEquals(inner, "postmaster")) {
    path.address = std::string(inner);
    return path;
  }
  // The mailbox itself: the one parser of the tree (common/mail/address.h),
  // so no later stage refuses an address accepted here.
  auto mailbox = mail::ParseMailbox(inner);
  if (!mailbox.ok()) return std::nullopt;
  path.address = std::string(inner);
  path.non_ascii = mailbox->non_ascii;
  return path;
}

ParseResult ParseCommand(std::string_view line) {
  for (unsigned char c : line) {
    // Controls are never valid in a command line (TAB only inside texts we ignore).
    if ((c < 32 && c != '\t') || c == 127) {
      return MakeReply(500, "5.5.2", "Syntax error: invalid character in command");
    }
  }
  size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  Command cmd;
  std::optional<Reply> err;
  if (IEquals(verb, "HELO") || IEquals(verb, "EHLO")) {
    cmd.verb = IEquals(verb, "HELO") ? Verb::kHelo : Verb::kEhlo;
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::string_view domain = rest.substr(0, rest.find(' '));
    if (domain.empty()) return Syntax(std::string(cmd.verb == Verb::kHelo ? "HELO" : "EHLO") +
                                      " requires a domain or address literal");
    if (!IsValidUtf8(domain)) return Syntax("Invalid domain in greeting");
    cmd.argument = std::string(domain);
  } else if (IEquals(verb, "MAIL")) {
    cmd.verb = Verb::kMail;
    err = ParseMailOrRcpt(rest, true, &cmd);
  } else if (IEquals(verb, "RCPT")) {
    cmd.verb = Verb::kRcpt;
    err = ParseMailOrRcpt(rest, false, &cmd);
  } else if (IEquals(verb, "DATA")) {
    cmd.verb = Verb::kData;
    err = NoArgument(rest, "DATA");
  } else if (IEquals(verb, "BDAT")) {
    cmd.verb = Verb::kBdat;
    auto parts = SplitParams(rest);
    std::optional<uint64_t> size;
    if (!parts.empty()) size = ParseDecimal(parts[0], 20);
    if (parts.empty() || parts.size() > 2 || !size ||
        (parts.size() == 2 && !IEquals(parts[1], "LAST"))) {
      return Syntax("Syntax: BDAT <size> [LAST]");
    }
    cmd.bdat_size = *size;
    cmd.bdat_last = parts.size() == 2;
  } else if (IEquals(verb, "RSET")) {
    cmd.verb = Verb::kRset;
    err = NoArgument(rest, "RSET");
  } else if (IEquals(verb, "NOOP")) {
    cmd.verb = Verb::kNoop;
  } else if (IEquals(verb, "QUIT")) {
    cmd.verb = Verb::kQuit;
    err = NoArgument(rest, "QUIT");
  } else if (IEquals(verb, "VRFY") || IEquals(verb, "EXPN")) {
    cmd.verb = IEquals(verb, "VRFY") ? Verb::kVrfy : Verb::kExpn;
    if (rest.empty()) return Syntax("Syntax: " + AsciiUpper(verb) + " <address>");
    cmd.argument = std::string(rest);
  } else if (IEquals(verb, "HELP")) {
    cmd.verb = Verb::kHelp;
    cmd.argument = std::string(rest);
  } else if (IEquals(verb, "STARTTLS")) {
    cmd.verb = Verb::kStartTls;
    err = NoArgument(rest, "STARTTLS");
  } else if (IEquals(verb, "AUTH")) {
    cmd.verb = Verb::kAuth;
    auto parts = SplitParams(rest);
    if (parts.empty() || parts.size() > 2 || !ValidKeyword(parts[0])) {
      return Syntax("Syntax: AUTH <mechanism> [initial-response]");
    }
    cmd.argument = AsciiUpper(parts[0]);
    if (parts.size() == 2) {
      cmd.initial_response = std::string(parts[1]);
      cmd.has_initial_response = true;
    }
  } else {
    return MakeReply(500, "5.5.2", "Error: command not recognized");
  }
  if (err) return *err;
  return cmd;
}

}  // namespace sg::ingress
