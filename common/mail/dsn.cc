#include "common/mail/dsn.h"

#include "common/mail/safe_field.h"

namespace sg::mail {
namespace v1 = smimegate::v1;

std::string SafeField(const std::string& s, size_t max) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max) break;
    if (c == '\r' || c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else if (c < 0x20 || c >= 0x7f) {
      out.push_back('?');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

namespace {

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string Hex(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kDigits[v & 15];
  return out;
}

bool HasEightBit(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// The header section of an RFC 5322 message (CRLF line ends), with its final CRLF.
std::string HeaderSection(const std::string& message) {
  auto end = message.find("\r\n\r\n");
  if (end == std::string::npos)
    return message.empty() || message.ends_with("\r\n") ? message : message + "\r\n";
  return message.substr(0, end + 2);
}

std::string OriginalRecipientField(const std::string& orcpt) {
  // Stored as "rfc822;user@x"; RFC 3464 wants "addr-type ; address".
  auto semi = orcpt.find(';');
  if (semi == std::string::npos) return "rfc822; " + SafeField(orcpt);
  std::string type = orcpt.substr(0, semi);
  std::string addr = orcpt.substr(semi + 1);
  while (!addr.empty() && addr[0] == ' ') addr.erase(0, 1);
  return SafeField(type) + "; " + SafeField(addr);
}

}  // namespace

bool WantsFailureDsn(const v1::Recipient& recipient) {
  if (!recipient.notify_given()) return true;
  if (recipient.notify().never()) return false;
  return recipient.notify().failure();
}

bool ReturnsFullMessage(const v1::Envelope& original) {
  return original.dsn_ret() == v1::DSN_RET_FULL && original.direction() != v1::DIRECTION_INBOUND;
}

v1::MessageRecord BuildFailureDsn(const v1::MessageRecord& original,
                                  const std::vector<FailedRecipient>& failed,
                                  const DsnContext& context) {
  const auto& env = original.envelope();
  std::string rcpt_list;
  for (const auto& f : failed) rcpt_list += f.recipient.address() + "\n";
  const std::string tag =
      Hex(Fnv1a(env.message_id() + "\n" + original.form_id() + "\n" + rcpt_list));
  const std::string dsn_id = env.message_id() + ".dsn." + tag.substr(0, 12);
  // RFC 2046 5.1.1: the boundary must not occur in a part; the returned
  // message is the sender's text, so a boundary found in it is replaced.
  const std::string& original_message = original.message();
  std::string boundary = "=_dsn_" + tag;
  for (int n = 1; original_message.find(boundary) != std::string::npos; ++n) {
    boundary = "=_dsn_" + tag + "_" + std::to_string(n);
  }
  const std::string reporting = SafeField(context.reporting_mta, 255);
  const std::string date = Rfc5322Date(context.now_ms);

  std::string m;
  m += "From: Mail Delivery System <" + SafeField(context.postmaster, 255) + ">\r\n";
  m += "To: <" + SafeField(env.mail_from(), 512) + ">\r\n";
  m += "Subject: Undelivered Mail Returned to Sender\r\n";
  m += "Date: " + date + "\r\n";
  m += "Message-ID: <" + dsn_id + "@" + reporting + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary +
       "\"\r\n";
  m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  // Human-readable part.
  m += "--" + boundary + "\r\n";
  m += "Content-Description: Notification\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += "This is the mail system at host " + reporting + ".\r\n\r\n";
  const bool full = ReturnsFullMessage(env);
  m += "Your message could not be delivered to one or more recipients.\r\n";
  m += full ? "It is attached below.\r\n\r\n" : "Its header is attached below.\r\n\r\n";
  for (const auto& f : failed) {
    m += "<" + SafeField(f.recipient.address(), 512) + ">: ";
    m += f.remote_mta.empty() ? "" : "host " + SafeField(f.remote_mta, 255) + " said: ";
    m += SafeField(f.diagnostic) + "\r\n";
  }
  m += "\r\n";

  // Machine-readable part (RFC 3464 section 2).
  m += "--" + boundary + "\r\n";
  m += "Content-Description: Delivery report\r\n";
  m += "Content-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + reporting + "\r\n";
  if (!env.dsn_envid().empty())
    m += "Original-Envelope-Id: " + SafeField(env.dsn_envid(), 100) + "\r\n";
  if (env.received_at_ms() > 0) m += "Arrival-Date: " + Rfc5322Date(env.received_at_ms()) + "\r\n";
  for (const auto& f : failed) {
    m += "\r\n";
    m += "Final-Recipient: rfc822; " + SafeField(f.recipient.address(), 512) + "\r\n";
    if (!f.recipient.orcpt().empty()) {
      m += "Original-Recipient: " + OriginalRecipientField(f.recipient.orcpt()) + "\r\n";
    }
    m += "Action: failed\r\n";
    m += "Status: " + SafeField(f.status, 16) + "\r\n";
    if (!f.remote_mta.empty()) m += "Remote-MTA: dns; " + SafeField(f.remote_mta, 255) + "\r\n";
    m += "Diagnostic-Code: smtp; " + SafeField(f.diagnostic) + "\r\n";
    m += "Last-Attempt-Date: " + date + "\r\n";
  }
  m += "\r\n";

  // The returned message: headers only unless RET=FULL (RFC 3461 4.3) - and
  // always for mail from the internet (ReturnsFullMessage).
  m += "--" + boundary + "\r\n";
  const std::string& body = original.message();
  if (full) {
    m += "Content-Description: Undelivered Message\r\n";
    m += "Content-Type: message/rfc822\r\n";
    if (HasEightBit(body)) m += "Content-Transfer-Encoding: 8bit\r\n";
    m += "\r\n";
    m += body;
    if (!body.ends_with("\r\n")) m += "\r\n";
  } else {
    std::string headers = HeaderSection(body);
    m += "Content-Description: Undelivered Message Headers\r\n";
    m += "Content-Type: text/rfc822-headers\r\n";
    if (HasEightBit(headers)) m += "Content-Transfer-Encoding: 8bit\r\n";
    m += "\r\n";
    m += headers;
  }
  m += "\r\n--" + boundary + "--\r\n";

  v1::MessageRecord dsn;
  auto* denv = dsn.mutable_envelope();
  denv->set_message_id(dsn_id);
  // The DSN goes back where the sender is: mail that came in from the
  // internet bounces out to it, mail from the organisation bounces back in.
  denv->set_direction(env.direction() == v1::DIRECTION_INBOUND ? v1::DIRECTION_OUTBOUND
                                                               : v1::DIRECTION_INBOUND);
  denv->set_listener("egress-dsn");
  denv->set_mail_from("");  // the null sender: a DSN is never bounced (RFC 3461 6.2)
  auto* r = denv->add_recipients();
  r->set_address(env.mail_from());
  r->set_notify_given(true);
  r->mutable_notify()->set_never(true);
  denv->set_eight_bit_mime(HasEightBit(m));
  denv->set_smtputf8(env.smtputf8() && HasEightBit(env.mail_from()));
  denv->set_received_at_ms(context.now_ms);
  denv->set_header_message_id("<" + dsn_id + "@" + reporting + ">");
  dsn.set_message(std::move(m));
  dsn.set_form_id("dsn");
  auto* note = dsn.add_notes();
  note->set_action("dsn");
  note->set_detail("failure report for " + env.message_id());
  return dsn;
}

}  // namespace sg::mail
