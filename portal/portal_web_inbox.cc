// The portal's inbox, message and download pages (portal_web.h). Every
// message is looked up by (logged-in recipient, id): another recipient's id
// is 404 like one that does not exist.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/mail/base64.h"
#include "portal/portal_crypto.h"
#include "portal/portal_mailer.h"
#include "portal/portal_mime.h"
#include "portal/portal_sanitize.h"
#include "portal/portal_smime.h"
#include "portal/portal_web.h"
#include "portal/portal_web_call.h"

namespace sg::portal {
namespace {

constexpr size_t kPageSize = 50;

std::string HumanSize(size_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < 1024 * 1024) return std::to_string((bytes + 512) / 1024) + " KB";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// A download name without path or quoting tricks, for Content-Disposition.
std::string SafeFilename(std::string name) {
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == '"' || c == '\\' || c == '/' || c == ';' || c == 0x7f) continue;
    out += static_cast<char>(c);
  }
  while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(0, 1);
  return out.empty() ? std::string("attachment.bin") : out.substr(0, 200);
}

// RFC 6266: an ASCII fallback plus the UTF-8 name (RFC 8187 encoding).
std::string Disposition(const std::string& filename) {
  const std::string safe = SafeFilename(filename);
  std::string ascii, ext;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : safe) {
    ascii += c < 0x80 ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      ext += static_cast<char>(c);
    } else {
      ext += '%';
      ext += kHex[c >> 4];
      ext += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + ext;
}

}  // namespace

void PortalWeb::Home(Call& call) { Redirect(call, call.logged_in() ? "/inbox" : "/login"); }

void PortalWeb::Inbox(Call& call) {
  PortalStore& store = d_.vault.store();
  const std::string before = call.Param("before");
  if (!before.empty() && (before.size() != 32 || before.find_first_not_of("0123456789abcdef") !=
                                                     std::string::npos)) {
    return NotFound(call);
  }
  auto list = store.ListMessages(call.address(), before, kPageSize + 1);
  auto count = store.CountMessages(call.address());
  if (!list.ok() || !count.ok()) return Info(call, "error_title", "error_text", 503, false);
  mustache::data rows{mustache::data::type::list};
  const size_t shown = std::min(list->size(), kPageSize);
  for (size_t i = 0; i < shown; ++i) {
    const auto& m = (*list)[i];
    auto summary = d_.vault.Summary(m);
    mustache::data row;
    row.set("id", m.id());
    row.set("unread", !m.read());
    if (summary.ok()) {
      row.set("from", summary->from());
      row.set("subject", summary->subject().empty() ? std::string("(…)") : summary->subject());
      row.set("date", summary->date());
      if (summary->attachments() > 0) row.set("attachments", std::to_string(summary->attachments()));
    } else {
      row.set("subject", std::string("(…)"));
    }
    rows.push_back(row);
  }
  mustache::data data;
  data.set("title", Text(call, "inbox"));
  data.set("messages", rows);
  data.set("has_messages", shown > 0);
  data.set("count_text", TextWith(call, "count", "n", std::to_string(*count)));
  if (list->size() > kPageSize) data.set("older", (*list)[kPageSize - 1].id());
  Render(call, "inbox", data);
}

void PortalWeb::Message(Call& call) {
  const std::string id = call.Match(1);
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return m.error().code == ErrorCode::kNotFound
                          ? NotFound(call)
                          : Info(call, "error_title", "error_text", 503, false);
  auto content = d_.vault.Content(*m);
  auto account = d_.vault.store().GetAccount(call.address());
  if (!content.ok() || !account.ok()) return Info(call, "error_title", "error_text", 503, false);
  ParsedMessage parsed = ParseForPortal(*content);
  if (!m->read()) {
    if (auto s = d_.vault.store().MarkRead(m->recipient(), m->id()); !s.ok()) {
      spdlog::warn("portal: mark read: {}", s.error().ToString());
    }
  }
  const auto& s = parsed.summary;
  mustache::data data;
  data.set("title", s.subject());
  data.set("id", id);
  data.set("subject", s.subject());
  data.set("from", s.from());
  data.set("to", Join(s.to()));
  if (s.cc_size() > 0) data.set("cc", Join(s.cc()));
  data.set("date", s.date());
  data.set("expires", Mailer::FormatTime(m->expires_at_ms()));
  data.set("replies", d_.config.For(m->sender_domain()).replies);
  data.set("smime", account->has_value() && !(*account)->certificate_der().empty());
  const bool remote = call.session->data.allow_remote() == id;
  if (!parsed.html.empty()) {
    // Sanitised here only to count what it would block; the frame gets its own copy.
    SanitizeResult preview = SanitizeHtml(parsed.html, SanitizeOptions{remote, nullptr});
    if (preview.shown) {
      data.set("html", true);
      data.set("remote", remote);
      if (preview.blocked_remote > 0 && !remote) {
        data.set("blocked_remote", true);
        data.set("blocked_text",
                 TextWith(call, "blocked_remote", "n", std::to_string(preview.blocked_remote)));
      }
    } else {
      data.set("html_hidden", true);
      data.set("text", parsed.text);
    }
  } else {
    data.set("text", parsed.text);
  }
  mustache::data list{mustache::data::type::list};
  for (const auto& a : parsed.attachments) {
    mustache::data item;
    item.set("id", id);
    item.set("index", std::to_string(a.index));
    item.set("filename", a.filename);
    item.set("content_type", a.content_type);
    item.set("size", HumanSize(a.data.size()));
    list.push_back(item);
  }
  data.set("attachments", list);
  data.set("has_attachments", !parsed.attachments.empty());
  Render(call, "message", data);
}

void PortalWeb::Body(Call& call) {
  const std::string id = call.Match(1);
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return NotFound(call);
  auto content = d_.vault.Content(*m);
  if (!content.ok()) return Info(call, "error_title", "error_text", 503, false);
  ParsedMessage parsed = ParseForPortal(*content);
  // Remote content only when asked for (?remote=1) and allowed for this message.
  const bool remote = call.Param("remote") == "1" && call.session->data.allow_remote() == id;
  SanitizeOptions options;
  options.allow_remote = remote;
  options.inline_image = [&parsed](const std::string& cid) -> std::optional<std::string> {
    for (const auto& a : parsed.attachments) {
      if (a.content_id == cid && a.content_type.rfind("image/", 0) == 0 &&
          a.content_type.find("svg") == std::string::npos && a.data.size() <= (4u << 20)) {
        return "data:" + a.content_type + ";base64," + mail::Base64EncodeOneLine(a.data);
      }
    }
    return std::nullopt;
  };
  SanitizeResult clean = SanitizeHtml(parsed.html, options);
  mustache::data data;
  data.set("html", clean.html);
  auto page = d_.templates.Render(call.brand, "web/body.html", data);
  if (!page.ok()) return Info(call, "error_title", "error_text", 500, false);
  // Its own policy: no script, nothing but inline styles and images from
  // the message itself (and remote images when the reader allowed them),
  // framed only by the portal, and sandboxed even when opened on its own.
  std::string csp = std::string("default-src 'none'; img-src data:") +
                    (remote ? " https: http:" : "") +
                    "; style-src 'unsafe-inline'; font-src data:; base-uri 'none'; "
                    "form-action 'none'; frame-ancestors 'self'; "
                    "sandbox allow-popups allow-popups-to-escape-sandbox";
  call.res.set_header("Content-Security-Policy", csp);
  call.res.set_header("X-Frame-Options", "SAMEORIGIN");
  call.res.set_content(*page, "text/html; charset=utf-8");
}

void PortalWeb::AllowRemote(Call& call) {
  const std::string id = call.Match(1);
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return NotFound(call);
  call.session->data.set_allow_remote(id);
  if (!d_.sessions.Save(*call.session).ok()) return Info(call, "error_title", "error_text", 503, false);
  Redirect(call, "/m/" + id);
}

void PortalWeb::Download(Call& call) {
  const std::string id = call.Match(1);
  const size_t index = static_cast<size_t>(std::stoul(call.Match(2)));
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return NotFound(call);
  auto content = d_.vault.Content(*m);
  if (!content.ok()) return Info(call, "error_title", "error_text", 503, false);
  ParsedMessage parsed = ParseForPortal(*content);
  for (const auto& a : parsed.attachments) {
    if (a.index != index) continue;
    d_.audit.Record("download", call.address(), call.ip, id, "attachment " + a.filename);
    d_.metrics.downloads.WithLabels({"attachment"}).Inc();
    // Never rendered here: a download, whatever the part claims to be.
    call.res.set_header("Content-Disposition", Disposition(a.filename));
    call.res.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
    call.res.set_content(a.data, "application/octet-stream");
    return;
  }
  NotFound(call);
}

void PortalWeb::DownloadEml(Call& call) {
  const std::string id = call.Match(1);
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return NotFound(call);
  auto content = d_.vault.Content(*m);
  if (!content.ok()) return Info(call, "error_title", "error_text", 503, false);
  d_.audit.Record("download", call.address(), call.ip, id, "eml");
  d_.metrics.downloads.WithLabels({"eml"}).Inc();
  call.res.set_header("Content-Disposition", Disposition("message-" + id.substr(16) + ".eml"));
  call.res.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
  call.res.set_content(*content, "message/rfc822");
}

void PortalWeb::DownloadSmime(Call& call) {
  const std::string id = call.Match(1);
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return NotFound(call);
  auto account = d_.vault.store().GetAccount(call.address());
  auto content = d_.vault.Content(*m);
  if (!account.ok() || !content.ok()) return Info(call, "error_title", "error_text", 503, false);
  if (!account->has_value() || (*account)->certificate_der().empty()) return NotFound(call);
  auto encrypted = EncryptForDownload(*content, (*account)->certificate_der());
  if (!encrypted.ok()) return Info(call, "error_title", "error_text", 500, false);
  d_.audit.Record("download", call.address(), call.ip, id, "smime");
  d_.metrics.downloads.WithLabels({"smime"}).Inc();
  call.res.set_header("Content-Disposition", Disposition("message-" + id.substr(16) + "-smime.eml"));
  call.res.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
  call.res.set_content(*encrypted, "message/rfc822");
}

void PortalWeb::Delete(Call& call) {
  const std::string id = call.Match(1);
  auto s = d_.vault.store().DeleteMessage(call.address(), id);
  if (!s.ok()) {
    return s.error().code == ErrorCode::kNotFound
               ? NotFound(call)
               : Info(call, "error_title", "error_text", 503, false);
  }
  d_.audit.Record("delete", call.address(), call.ip, id);
  d_.metrics.deleted.WithLabels({"reader"}).Inc();
  Redirect(call, "/inbox?n=deleted");
}

}  // namespace sg::portal
