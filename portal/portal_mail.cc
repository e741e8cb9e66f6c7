#include "portal/portal_mail.h"

#include <algorithm>
#include <memory>

#include "portal/portal_gmime.h"
#include "portal/portal_mime.h"

namespace sg::portal {
namespace {

std::string OneLine(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

GMimeTextPart* TextPart(const char* subtype, const std::string& text) {
  GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
  g_mime_text_part_set_text(part, text.c_str());
  g_mime_part_set_content_encoding(GMIME_PART(part), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return part;
}

}  // namespace

Result<std::string> ComposeMail(const Templates& templates, const DomainSettings& domain,
                                const std::string& lang, mustache::data data,
                                const MailHeaders& h) {
  InitMime();
  data.set("product_name", domain.product_name);
  data.set("primary_color", domain.primary_color);
  data.set("background_color", domain.background_color);
  data.set("text_color", domain.text_color);
  const std::string base = "mail/" + lang + "/" + h.kind;
  const std::string& d = domain.domain;
  SG_ASSIGN_OR_RETURN(std::string subject, templates.Render(d, base + ".subject", data));
  SG_ASSIGN_OR_RETURN(std::string text, templates.Render(d, base + ".txt", data));
  SG_ASSIGN_OR_RETURN(std::string html, templates.Render(d, base + ".html", data));

  GPtr<GMimeMessage> msg(g_mime_message_new(TRUE));
  const std::string from_name = OneLine(h.from_name);
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM,
                             from_name.empty() ? nullptr : from_name.c_str(),
                             OneLine(h.from).c_str());
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, nullptr, OneLine(h.to).c_str());
  g_mime_message_set_subject(msg.get(), OneLine(subject).c_str(), "utf-8");
  GDateTime* date = g_date_time_new_from_unix_utc(h.date_unix);
  g_mime_message_set_date(msg.get(), date);
  g_date_time_unref(date);
  char* id = g_mime_utils_generate_message_id(h.message_id_domain.c_str());
  g_mime_message_set_message_id(msg.get(), id);
  g_free(id);
  GMimeObject* top = GMIME_OBJECT(msg.get());
  g_mime_object_set_header(top, "Auto-Submitted", "auto-generated", nullptr);
  g_mime_object_set_header(top, "X-Smimegate-Portal", h.kind.c_str(), nullptr);

  GPtr<GMimeMultipart> alt(g_mime_multipart_new_with_subtype("alternative"));
  GPtr<GMimeTextPart> text_part(TextPart("plain", text));
  GPtr<GMimeTextPart> html_part(TextPart("html", html));
  g_mime_multipart_add(alt.get(), GMIME_OBJECT(text_part.get()));
  g_mime_multipart_add(alt.get(), GMIME_OBJECT(html_part.get()));
  g_mime_message_set_mime_part(msg.get(), GMIME_OBJECT(alt.get()));

  GMimeFormatOptions* opts = g_mime_format_options_clone(nullptr);
  g_mime_format_options_set_newline_format(opts, GMIME_NEWLINE_FORMAT_DOS);
  char* out = g_mime_object_to_string(top, opts);
  g_mime_format_options_free(opts);
  if (out == nullptr) return MakeError(ErrorCode::kInternal, "the portal mail cannot be written");
  std::string result(out);
  g_free(out);
  return result;
}

}  // namespace sg::portal
