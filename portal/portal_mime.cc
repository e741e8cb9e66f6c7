#include "portal/portal_mime.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include "portal/portal_gmime.h"

namespace sg::portal {
namespace {

std::string Str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

std::string Decode(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return {};
  GPtr<GMimeStream> stream(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, stream.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

std::vector<std::string> Addresses(InternetAddressList* list, bool display) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) continue;
    if (display) {
      GCharPtr s(internet_address_to_string(ia, nullptr, FALSE));
      out.push_back(Str(s.get()));
    } else {
      out.push_back(Str(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia))));
    }
  }
  return out;
}

struct Walker {
  const MimeReadLimits& limits;
  ParsedMessage& out;
  size_t parts = 0;

  void Leaf(GMimeObject* obj) {
    GMimePart* part = GMIME_PART(obj);
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    const std::string disposition = Str(g_mime_object_get_disposition(obj));
    const bool attachment = disposition == "attachment" || g_mime_part_get_filename(part) != nullptr;
    if (!attachment && GMIME_IS_TEXT_PART(obj)) {
      const bool plain = g_mime_content_type_is_type(ct, "text", "plain");
      const bool html = g_mime_content_type_is_type(ct, "text", "html");
      std::string* body = plain ? &out.text : html ? &out.html : nullptr;
      if (body != nullptr && body->empty()) {
        GCharPtr text(g_mime_text_part_get_text(GMIME_TEXT_PART(obj)));
        *body = Str(text.get());
        return;
      }
    }
    Attachment a;
    a.index = parts;
    a.filename = Str(g_mime_part_get_filename(part));
    GCharPtr type(g_mime_content_type_get_mime_type(ct));
    a.content_type = Str(type.get());
    a.content_id = Str(g_mime_part_get_content_id(part));
    a.data = Decode(part);
    if (a.filename.empty()) a.filename = "attachment-" + std::to_string(a.index) + ".bin";
    out.attachments.push_back(std::move(a));
  }

  void Walk(GMimeObject* obj, size_t depth) {
    if (obj == nullptr || depth > limits.max_depth || ++parts > limits.max_parts) return;
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      for (int i = 0; i < g_mime_multipart_get_count(mp); ++i) {
        Walk(g_mime_multipart_get_part(mp, i), depth + 1);
      }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (inner == nullptr) return;
      GCharPtr text(g_mime_object_to_string(GMIME_OBJECT(inner), nullptr));
      Attachment a;
      a.index = parts;
      const char* subject = g_mime_message_get_subject(inner);
      a.filename = (subject != nullptr && *subject != '\0' ? std::string(subject) : "message") + ".eml";
      std::replace_if(a.filename.begin(), a.filename.end(),
                      [](char c) { return c == '/' || c == '\\' || c == '"'; }, '_');
      a.content_type = "message/rfc822";
      a.data = Str(text.get());
      out.attachments.push_back(std::move(a));
    } else if (GMIME_IS_PART(obj)) {
      Leaf(obj);
    }
  }
};

}  // namespace

void InitMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::vector<std::string> ParseAddressList(const std::string& value) {
  InitMime();
  GPtr<InternetAddressList> list(internet_address_list_parse(nullptr, value.c_str()));
  return Addresses(list.get(), false);
}

ParsedMessage ParseForPortal(const std::string& message, const MimeReadLimits& limits) {
  InitMime();
  ParsedMessage out;
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) return out;
  auto& s = out.summary;
  auto from = Addresses(g_mime_message_get_from(msg.get()), true);
  if (!from.empty()) s.set_from(from.front());
  for (auto& a : Addresses(g_mime_message_get_to(msg.get()), true)) s.add_to(a);
  for (auto& a : Addresses(g_mime_message_get_cc(msg.get()), true)) s.add_cc(a);
  s.set_subject(Str(g_mime_message_get_subject(msg.get())));
  if (GDateTime* date = g_mime_message_get_date(msg.get()); date != nullptr) {
    GCharPtr text(g_date_time_format(date, "%Y-%m-%d %H:%M"));
    s.set_date(Str(text.get()));
  }
  s.set_message_id(Str(g_mime_message_get_message_id(msg.get())));
  auto reply_to = Addresses(g_mime_message_get_reply_to(msg.get()), false);
  auto from_addr = Addresses(g_mime_message_get_from(msg.get()), false);
  out.reply_to = !reply_to.empty() ? reply_to.front() : !from_addr.empty() ? from_addr.front() : "";
  Walker w{limits, out};
  w.Walk(g_mime_message_get_mime_part(msg.get()), 0);
  s.set_attachments(static_cast<uint32_t>(out.attachments.size()));
  return out;
}

Result<std::string> BuildReply(const ReplyDraft& d) {
  InitMime();
  auto clean = [](std::string v) {
    std::replace_if(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
    return v;
  };
  GPtr<GMimeMessage> msg(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM, nullptr, clean(d.from).c_str());
  for (const auto& a : d.to) {
    g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, nullptr, clean(a).c_str());
  }
  for (const auto& a : d.cc) {
    g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_CC, nullptr, clean(a).c_str());
  }
  g_mime_message_set_subject(msg.get(), clean(d.subject).c_str(), "utf-8");
  GDateTime* date = g_date_time_new_from_unix_utc(d.date_unix);
  g_mime_message_set_date(msg.get(), date);
  g_date_time_unref(date);
  GCharPtr id(g_mime_utils_generate_message_id(d.message_id_domain.c_str()));
  g_mime_message_set_message_id(msg.get(), id.get());
  GMimeObject* header_owner = GMIME_OBJECT(msg.get());
  if (!d.in_reply_to.empty()) {
    const std::string ref = "<" + clean(d.in_reply_to) + ">";
    g_mime_object_set_header(header_owner, "In-Reply-To", ref.c_str(), nullptr);
    g_mime_object_set_header(header_owner, "References", ref.c_str(), nullptr);
  }
  g_mime_object_set_header(header_owner, "X-Smimegate-Portal", "reply", nullptr);
  GPtr<GMimeTextPart> part(g_mime_text_part_new_with_subtype("plain"));
  g_mime_text_part_set_text(part.get(), d.body.c_str());
  g_mime_part_set_content_encoding(GMIME_PART(part.get()), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  g_mime_message_set_mime_part(msg.get(), GMIME_OBJECT(part.get()));
  GMimeFormatOptions* opts = g_mime_format_options_clone(nullptr);
  g_mime_format_options_set_newline_format(opts, GMIME_NEWLINE_FORMAT_DOS);
  GCharPtr text(g_mime_object_to_string(GMIME_OBJECT(msg.get()), opts));
  g_mime_format_options_free(opts);
  if (!text) return MakeError(ErrorCode::kInternal, "the reply cannot be written");
  return Str(text.get());
}

}  // namespace sg::portal
