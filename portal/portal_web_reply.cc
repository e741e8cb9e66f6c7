// Replying from the portal (portal_web.h): the reply goes to the internal
// sender (and, for "reply to all", the other internal addresses of the
// message) through the portal-reply topic, so the workers encrypt it to each
// internal recipient's certificate. Addresses outside the hosted domains
// are left out and named on the form: the portal never sends to the
// internet on a reader's behalf (it would be an open relay for anyone with
// a portal login).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "portal/portal_crypto.h"
#include "portal/portal_intake.h"
#include "portal/portal_mime.h"
#include "portal/portal_web.h"
#include "portal/portal_web_call.h"

namespace sg::portal {
namespace v1 = smimegate::v1;
namespace {

struct ReplyPlan {
  std::vector<std::string> to;       // internal: the original sender first
  std::vector<std::string> omitted;  // outside the hosted domains
  std::string subject;
  std::string in_reply_to;
  std::string quote;
};

bool Hosted(const std::vector<std::string>& domains, const std::string& address) {
  const std::string d = mail::DomainOf(address);
  return std::find(domains.begin(), domains.end(), d) != domains.end();
}

ReplyPlan Plan(const ParsedMessage& parsed, const pb::StoredMessage& m, bool all,
               const std::vector<std::string>& hosted) {
  ReplyPlan p;
  std::set<std::string> seen{m.recipient()};
  auto add = [&](const std::string& raw) {
    const std::string a = NormalizeRecipient(raw);
    if (a.empty() || !seen.insert(a).second) return;
    (Hosted(hosted, a) ? p.to : p.omitted).push_back(a);
  };
  // Whom to answer: Reply-To/From when internal, else the envelope sender.
  if (Hosted(hosted, parsed.reply_to)) add(parsed.reply_to);
  add(m.sender());
  if (all) {
    for (const auto& list : {parsed.summary.to(), parsed.summary.cc()}) {
      for (const auto& entry : list) {
        for (const auto& a : ParseAddressList(entry)) add(a);
      }
    }
  }
  const std::string& subject = parsed.summary.subject();
  const bool has_re = subject.size() >= 3 && (subject.compare(0, 3, "Re:") == 0 ||
                                              subject.compare(0, 3, "RE:") == 0 ||
                                              subject.compare(0, 3, "AW:") == 0);
  p.subject = has_re ? subject : "Re: " + subject;
  p.in_reply_to = parsed.summary.message_id();
  std::string quote = "\n\n";
  size_t start = 0;
  const std::string& text = parsed.text;
  while (start < text.size() && quote.size() < 64 * 1024) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    quote += "> " + line + "\n";
    start = end + 1;
  }
  p.quote = quote;
  return p;
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

void PortalWeb::ReplyPage(Call& call) {
  const std::string id = call.Match(1);
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return NotFound(call);
  if (!d_.config.For(m->sender_domain()).replies) {
    return Info(call, "forbidden_title", "replies_disabled", 403, false, true);
  }
  auto content = d_.vault.Content(*m);
  if (!content.ok()) return Info(call, "error_title", "error_text", 503, false);
  const bool all = call.Param("all") == "1";
  ReplyPlan plan = Plan(ParseForPortal(*content), *m, all, d_.hosted_domains);
  mustache::data data;
  data.set("title", Text(call, all ? "reply_all_heading" : "reply_heading"));
  data.set("heading", Text(call, all ? "reply_all_heading" : "reply_heading"));
  data.set("id", id);
  data.set("all", all);
  data.set("to", JoinList(plan.to));
  if (!plan.omitted.empty()) {
    data.set("omitted", true);
    data.set("omitted_text", Text(call, "reply_omitted") + " " + JoinList(plan.omitted));
  }
  data.set("subject", plan.subject);
  data.set("quote", plan.quote);
  Render(call, "reply", data);
}

void PortalWeb::ReplySubmit(Call& call) {
  const std::string id = call.Match(1);
  auto m = d_.vault.store().GetMessage(call.address(), id);
  if (!m.ok()) return NotFound(call);
  if (!d_.config.For(m->sender_domain()).replies) {
    return Info(call, "forbidden_title", "replies_disabled", 403, false, true);
  }
  auto content = d_.vault.Content(*m);
  if (!content.ok()) return Info(call, "error_title", "error_text", 503, false);
  ReplyPlan plan = Plan(ParseForPortal(*content), *m, call.Param("all") == "1", d_.hosted_domains);
  if (plan.to.empty()) return Info(call, "forbidden_title", "replies_disabled", 403, false, true);
  const std::string body = call.Param("body");
  if (body.size() > d_.config.max_reply_bytes) {
    return Info(call, "forbidden_title", "too_large", 413, false, true);
  }
  ReplyDraft draft;
  draft.from = call.address();
  draft.to = plan.to;
  const std::string subject = call.Param("subject");
  draft.subject = subject.empty() ? plan.subject : subject.substr(0, 500);
  draft.body = body;
  draft.in_reply_to = plan.in_reply_to;
  draft.message_id_domain = d_.config.hostname;
  draft.date_unix = d_.clock.NowMs() / 1000;
  auto mail = BuildReply(draft);
  if (!mail.ok()) return Info(call, "error_title", "error_text", 500, false);
  // Only a reply that passed every check takes from the bucket.
  if (!d_.accounts.AllowReply(call.address())) {
    return Info(call, "forbidden_title", "reply_rate", 429, false, true);
  }
  v1::MessageRecord record;
  auto* env = record.mutable_envelope();
  env->set_message_id("portal-reply-" + Hex(RandomBytes(12)));
  env->set_direction(v1::DIRECTION_INBOUND);
  env->set_origin(v1::ORIGIN_PORTAL);
  env->set_listener("portal");
  env->set_mail_from(call.address());
  env->set_received_at_ms(d_.clock.NowMs());
  env->mutable_client()->set_ip(call.ip);
  for (const auto& a : plan.to) env->add_recipients()->set_address(a);
  record.set_message(std::move(*mail));
  if (auto s = d_.outbox.Reply(record); !s.ok()) {
    spdlog::warn("portal: reply from <{}>: {}", call.address(), s.error().ToString());
    return Info(call, "error_title", "error_text", 503, false);
  }
  d_.audit.Record("reply", call.address(), call.ip, id, "to " + JoinList(plan.to));
  d_.metrics.replies.Inc();
  Redirect(call, "/m/" + id + "?n=reply_sent");
}

}  // namespace sg::portal
