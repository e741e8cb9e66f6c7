// smimegatectl queue list|summary|show|hold|release|delete|retry: the mail queue
// of a running gateway (common/mail_queue.h says what each does), through
// the QueueAdmin service at the keyservice endpoint (mutual TLS with the
// admin credentials; every call audited there with the caller's subject).
// The queue lives in the egress's memory and on its retry topic, so a
// running `smimegate run` must answer: there is no offline mode.
// The distributed mode (`smimegate egress`, one queue per egress pod):
// `queue --egress HOST:PORT` (repeatable, one per pod) asks each egress's own
// admin port (egress.admin.listen) instead, and merges the answers
// (common/mail_queue_fanout.h); docs/operations.md.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "common/mail_queue_fanout.h"
#include "keyservice/queue_admin_grpc.h"
#include "keyservice/rpc_role_egress.h"

namespace sg::ctl {
namespace {

std::string Time(int64_t ms) { return ms <= 0 ? "-" : Timestamp(ms * 1000); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json EntryJson(const mailqueue::Entry& e) {
  return {{"message_id", e.message_id},
          {"state", e.state},
          {"direction", e.direction},
          {"mail_from", e.mail_from},
          {"recipients", e.recipients},
          {"message_bytes", e.message_bytes},
          {"attempts", e.attempts},
          {"received_at_ms", e.received_at_ms},
          {"first_attempt_at_ms", e.first_attempt_at_ms},
          {"next_attempt_at_ms", e.next_attempt_at_ms},
          {"last_error", e.last_error},
          {"held_by", e.held_by},
          {"position", e.position}};
}

nlohmann::json RowJson(const mailqueue::SummaryRow& r) {
  return {{"domain", r.domain}, {"total", r.total}, {"buckets", r.buckets}};
}

void PrintSummaryTable(const mailqueue::Summary& s) {
  std::ostringstream out;
  size_t width = 6;
  for (const auto& r : s.rows) width = std::max(width, r.domain.size());
  out << std::setw(static_cast<int>(width)) << "" << " " << std::setw(6) << "T";
  for (int64_t m : s.bucket_minutes) out << " " << std::setw(5) << m;
  out << " " << std::setw(5) << (std::to_string(s.bucket_minutes.back()) + "+") << "\n";
  auto row = [&](const mailqueue::SummaryRow& r) {
    out << std::setw(static_cast<int>(width)) << r.domain << " " << std::setw(6) << r.total;
    for (uint64_t n : r.buckets) out << " " << std::setw(5) << n;
    out << "\n";
  };
  row(s.total);
  for (const auto& r : s.rows) row(r);
  std::cout << out.str();
  std::cerr << "recipients per destination domain and age in minutes; messages:";
  if (s.states.empty()) std::cerr << " none";
  for (const auto& [state, n] : s.states) std::cerr << " " << n << " " << state;
  std::cerr << "\n";
}

int Summary(mailqueue::Admin& q, bool json) {
  auto entries = q.List();
  if (!entries.ok()) return Fail(entries.error());
  const mailqueue::Summary s = mailqueue::Summarize(*entries, NowMs());
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : s.rows) rows.push_back(RowJson(r));
    nlohmann::json doc = {{"bucket_minutes", s.bucket_minutes},
                          {"total", RowJson(s.total)},
                          {"domains", rows},
                          {"messages", s.states}};
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  PrintSummaryTable(s);
  return 0;
}

// mailq: one line per queued record, oldest first.
int List(mailqueue::Admin& q, bool json) {
  auto entries = q.List();
  if (!entries.ok()) return Fail(entries.error());
  std::stable_sort(entries->begin(), entries->end(), [](const auto& a, const auto& b) {
    return a.received_at_ms < b.received_at_ms;
  });
  if (json) return PrintJsonList(*entries, EntryJson);
  for (const auto& e : *entries) {
    std::cout << e.message_id << "\t" << e.state << "\t" << Time(e.received_at_ms) << "\t"
              << e.message_bytes << "\t" << (e.mail_from.empty() ? "<>" : e.mail_from) << " ->";
    for (const auto& r : e.recipients) std::cout << " " << r;
    std::cout << "\t" << (e.last_error.empty() ? "-" : e.last_error) << "\n";
  }
  std::cerr << entries->size() << " queued records\n";
  return 0;
}

int Show(mailqueue::Admin& q, const std::string& id, bool json) {
  auto entries = q.Show(id);
  if (!entries.ok()) return Fail(entries.error());
  if (json) return PrintJsonList(*entries, EntryJson);
  for (const auto& e : *entries) {
    std::cout << "message: " << e.message_id << "\nstate: " << e.state;
    if (!e.held_by.empty()) std::cout << " (by " << e.held_by << ")";
    std::cout << "\ndirection: " << e.direction
              << "\nfrom: " << (e.mail_from.empty() ? "<>" : e.mail_from) << "\nto:";
    for (const auto& r : e.recipients) std::cout << " " << r;
    std::cout << "\nsize: " << e.message_bytes << " bytes\nreceived: " << Time(e.received_at_ms)
              << "\nattempts: " << e.attempts << "\nfirst attempt: " << Time(e.first_attempt_at_ms)
              << "\nnext attempt: " << (e.state == "held" ? "held" : Time(e.next_attempt_at_ms))
              << "\nlast error: " << (e.last_error.empty() ? "-" : e.last_error)
              << "\nrecord: " << e.position << "\n\n";
  }
  return 0;
}

int Change(const Result<uint32_t>& r, const std::string& what) {
  if (!r.ok()) return Fail(r.error());
  std::cout << what << " " << *r << " queue record" << (*r == 1 ? "" : "s") << "\n";
  return 0;
}

// Every egress pod's queue as one (the distributed mode).
int RunOnEgress(Ctl& ctl, const std::vector<std::string>& endpoints,
                const std::function<int(mailqueue::Admin&)>& f) {
  std::vector<mailqueue::FanOutMailQueue::Pod> pods;
  // The same admin credentials; the server is an egress, not the keyservice.
  ctl.globals.server_name = std::string(keyservice::kEgressServerName);
  for (const auto& endpoint : endpoints) {
    auto channel = ctl.AdminChannel(endpoint);
    if (!channel.ok()) return Fail(channel.error());
    pods.push_back({"egress " + endpoint,
                    std::make_unique<keyservice::MailQueueClient>(
                        *channel, endpoint, std::chrono::seconds(ctl.globals.timeout_s))});
  }
  mailqueue::FanOutMailQueue all(std::move(pods));
  return f(all);
}

}  // namespace

void AddQueueCommands(CLI::App& app, Ctl& ctl) {
  auto* q = app.add_subcommand("queue", "mail egress has not delivered yet (deferred, held)")
                ->require_subcommand(1);
  struct Options {
    std::string id, domain;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto egress = std::make_shared<std::vector<std::string>>();
  q->add_option("--egress", *egress,
                "HOST:PORT of an egress's admin port (egress.admin.listen); repeat for every "
                "egress pod: the answers are merged. Default: the keyservice endpoint "
                "(`smimegate run`)");
  auto run = [&ctl, egress](const std::function<int(mailqueue::Admin&)>& f) {
    ctl.RunLocal([&ctl, f, egress] {
      if (!egress->empty()) return RunOnEgress(ctl, *egress, f);
      auto endpoint = ctl.Endpoint();
      if (!endpoint.ok()) return Fail(endpoint.error());
      auto channel = ctl.AdminChannel(*endpoint);
      if (!channel.ok()) return Fail(channel.error());
      keyservice::MailQueueClient client(*channel, *endpoint,
                                         std::chrono::seconds(ctl.globals.timeout_s));
      return f(client);
    });
  };

  auto* summary = q->add_subcommand("summary", "recipients per destination domain and age (qshape)");
  summary->add_flag("--json", o->json, "a JSON document (fields: docs/operations.md)");
  summary->callback([=] { run([o](mailqueue::Admin& a) { return Summary(a, o->json); }); });

  auto* list = q->add_subcommand("list", "every queued record, oldest first (mailq)");
  list->add_flag("--json", o->json, "a JSON array (fields: docs/operations.md)");
  list->callback([=] { run([o](mailqueue::Admin& a) { return List(a, o->json); }); });

  auto* show = q->add_subcommand("show", "one message: envelope, size, state, attempts, last error");
  show->add_option("id", o->id, "the message id (queue summary --json, logs: message_id)")->required();
  show->add_flag("--json", o->json, "a JSON array, one object per queued record");
  show->callback([=] { run([o](mailqueue::Admin& a) { return Show(a, o->id, o->json); }); });

  auto* hold = q->add_subcommand("hold", "keep a deferred message from delivery until released");
  hold->add_option("id", o->id, "the message id")->required();
  hold->callback([=] {
    run([o](mailqueue::Admin& a) { return Change(a.Hold(o->id, ""), "held"); });
  });

  auto* release = q->add_subcommand("release", "attempt a held message now");
  release->add_option("id", o->id, "the message id")->required();
  release->callback([=] {
    run([o](mailqueue::Admin& a) { return Change(a.Release(o->id), "released"); });
  });

  auto* del = q->add_subcommand(
      "delete", "take a deferred or held message out of the queue (kept as a dead letter)");
  del->add_option("id", o->id, "the message id")->required();
  del->callback([=] {
    run([o](mailqueue::Admin& a) { return Change(a.Delete(o->id, ""), "deleted"); });
  });

  auto* retry = q->add_subcommand("retry", "attempt deferred messages now (flush)");
  retry->add_option("--domain", o->domain, "only those with a recipient in this domain");
  retry->callback([=] {
    run([o](mailqueue::Admin& a) { return Change(a.Retry(o->domain), "retrying"); });
  });
}

}  // namespace sg::ctl
