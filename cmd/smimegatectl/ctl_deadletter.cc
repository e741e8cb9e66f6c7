#include "cmd/smimegatectl/ctl_deadletter.h"

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/config_node.h"
#include "common/queue_config.h"
#include "keyservice/queue_admin_grpc.h"
#include "proto/envelope.pb.h"

namespace sg::ctl {
namespace {

// A queue opened here, and the dead letters on it.
class OwnedDeadLetters final : public deadletter::Admin {
 public:
  OwnedDeadLetters(std::unique_ptr<queue::Queue> q, const std::string& prefix)
      : queue_(std::move(q)), admin_(*queue_, prefix) {}
  Result<deadletter::ListResult> List(const deadletter::ListOptions& o) override {
    return admin_.List(o);
  }
  Result<deadletter::Entry> Show(const deadletter::Id& id) override { return admin_.Show(id); }
  Result<std::string> Replay(const deadletter::Id& id) override { return admin_.Replay(id); }
  Result<uint64_t> Purge(const deadletter::PurgeRequest& r) override { return admin_.Purge(r); }

 private:
  std::unique_ptr<queue::Queue> queue_;
  deadletter::QueueDeadLetters admin_;
};

// Embedded mode: the running gateway's QueueAdmin service; when no gateway
// answers (kUnavailable), the queue database, which is then free to open
// here. No probe call first: one command is one call, so one audit record.
class GatewayOrDatabase final : public deadletter::Admin {
 public:
  GatewayOrDatabase(std::unique_ptr<deadletter::Admin> remote, queue::QueueConfig qc)
      : remote_(std::move(remote)), qc_(std::move(qc)) {}
  Result<deadletter::ListResult> List(const deadletter::ListOptions& o) override {
    return Call([&](deadletter::Admin& a) { return a.List(o); });
  }
  Result<deadletter::Entry> Show(const deadletter::Id& id) override {
    return Call([&](deadletter::Admin& a) { return a.Show(id); });
  }
  Result<std::string> Replay(const deadletter::Id& id) override {
    return Call([&](deadletter::Admin& a) { return a.Replay(id); });
  }
  Result<uint64_t> Purge(const deadletter::PurgeRequest& r) override {
    return Call([&](deadletter::Admin& a) { return a.Purge(r); });
  }

 private:
  template <typename F>
  auto Call(F f) -> decltype(f(std::declval<deadletter::Admin&>())) {
    auto r = f(*remote_);
    if (r.ok() || r.error().code != ErrorCode::kUnavailable) return r;
    auto q = queue::OpenQueue(qc_, /*ensure_topics=*/false);
    if (!q.ok()) {
      return MakeError(ErrorCode::kUnavailable,
                       r.error().message + "; and the queue database cannot be opened here: " +
                           q.error().message);
    }
    OwnedDeadLetters local(std::move(*q), qc_.topic_prefix);
    return f(local);
  }

  std::unique_ptr<deadletter::Admin> remote_;
  queue::QueueConfig qc_;
};

// The queue section of the configuration (defaults without a config file).
Result<queue::QueueConfig> LoadQueueConfig(const DeadLetterSource& s) {
  std::string home = s.home;
  if (home.empty()) {
    const char* env = std::getenv("SMIMEGATE_HOME");
    home = env && *env ? env : "./var";
  }
  const std::string file = s.config.empty() ? home + "/smimegate.yaml" : s.config;
  if (!std::filesystem::exists(file)) {
    if (!s.config.empty()) return MakeError(ErrorCode::kInvalidArgument, "--config " + file + ": not found");
    auto empty = config::ConfigDocument::LoadString("{}", "defaults");
    if (!empty.ok()) return empty.error();
    return queue::ParseQueueConfig(empty->Root(), home);
  }
  SG_ASSIGN_OR_RETURN(auto doc, config::ConfigDocument::LoadFile(file));
  auto root = doc.Root();
  // data_dir as smimegate resolves it (cmd/smimegate/app_config.cc): default
  // and relative to the config file's directory.
  std::error_code ec;
  const std::string config_dir =
      std::filesystem::absolute(file, ec).parent_path().lexically_normal().string();
  SG_ASSIGN_OR_RETURN(std::string data_dir, root.String("data_dir", config_dir));
  if (!data_dir.empty() && data_dir[0] != '/') {
    data_dir = (std::filesystem::path(config_dir) / data_dir).lexically_normal().string();
  }
  SG_ASSIGN_OR_RETURN(auto section, root.Map("queue"));
  return queue::ParseQueueConfig(section, data_dir);
}

std::string Time(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Recipients(const deadletter::Entry& e) {
  if (e.recipients.empty()) return "-";
  std::string out = e.recipients[0];
  if (e.recipients.size() > 1) out += " (+" + std::to_string(e.recipients.size() - 1) + ")";
  return out;
}

// --json: one object per dead letter (docs/tenants.md).
nlohmann::json EntryJson(const deadletter::Entry& e) {
  return {{"id", e.id.ToString()},           {"dead_lettered_at_ms", e.timestamp_ms},
          {"message_id", e.key},             {"reason", e.reason},
          {"source_topic", e.source_topic},  {"stage", e.stage},
          {"mail_from", e.mail_from},        {"recipients", e.recipients},
          {"message_bytes", e.message_bytes}};
}

int List(deadletter::Admin& admin, const std::string& from, uint32_t limit, bool json) {
  deadletter::ListOptions o;
  o.limit = limit;
  if (!from.empty()) {
    auto id = deadletter::Id::Parse(from);
    if (!id.ok()) return Fail(id.error());
    o.from = *id;
  }
  auto r = admin.List(o);
  if (!r.ok()) return Fail(r.error());
  if (json) return PrintJsonList(r->entries, EntryJson);
  for (const auto& e : r->entries) {
    std::cout << e.id.ToString() << "\t" << Time(e.timestamp_ms) << "\t"
              << (e.stage.empty() ? "-" : e.stage) << "\t" << e.key << "\t"
              << (e.mail_from.empty() ? "<>" : e.mail_from) << " -> " << Recipients(e) << "\t"
              << e.reason << "\n";
  }
  std::cerr << r->held << " dead letters held, " << r->entries.size() << " shown\n";
  return 0;
}

int Show(deadletter::Admin& admin, const std::string& id_text, bool message, const std::string& out) {
  auto id = deadletter::Id::Parse(id_text);
  if (!id.ok()) return Fail(id.error());
  auto e = admin.Show(*id);
  if (!e.ok()) return Fail(e.error());
  smimegate::v1::MessageRecord rec;
  const bool parsed = rec.ParseFromString(e->value);
  if (message) {
    if (!parsed) {
      return Fail(MakeError(ErrorCode::kInvalidArgument,
                            "dead letter " + id_text + " holds no message record (" +
                                std::to_string(e->value.size()) + " undecodable bytes)"));
    }
    if (out.empty()) {
      std::cout << rec.message();
      return 0;
    }
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f << rec.message();
    return f ? 0 : Fail(MakeError(ErrorCode::kInvalidArgument, "--out " + out + ": cannot write"));
  }
  std::cout << "id: " << e->id.ToString() << "\ndead-lettered: " << Time(e->timestamp_ms)
            << "\nstage: " << e->stage << "\nsource topic: " << e->source_topic
            << "\nreason: " << e->reason << "\nkey: " << e->key;
  if (parsed) {
    const auto& env = rec.envelope();
    std::cout << "\ndirection: " << smimegate::v1::Direction_Name(env.direction())
              << "\nfrom: " << (env.mail_from().empty() ? "<>" : env.mail_from()) << "\nto:";
    for (const auto& r : env.recipients()) std::cout << " " << r.address();
    std::cout << "\nmessage: " << rec.message().size() << " bytes (--message prints it)"
              << "\nattempts: " << rec.delivery().attempt();
  } else {
    std::cout << "\nvalue: " << e->value.size() << " bytes, not a message record";
  }
  for (const auto& h : e->headers) std::cout << "\nheader " << h.key << ": " << h.value;
  std::cout << "\n";
  return 0;
}

int Replay(deadletter::Admin& admin, const std::vector<std::string>& ids) {
  int rc = 0;
  for (const auto& text : ids) {
    auto id = deadletter::Id::Parse(text);
    if (!id.ok()) return Fail(id.error());
    auto topic = admin.Replay(*id);
    if (!topic.ok()) {
      rc = Fail(topic.error());
      continue;
    }
    std::cout << "replayed " << id->ToString() << " onto " << *topic << "\n";
  }
  return rc;
}

int Purge(deadletter::Admin& admin, bool all, const std::string& before,
          const std::string& older_than) {
  deadletter::PurgeRequest r;
  r.all = all;
  if (!before.empty()) {
    auto id = deadletter::Id::Parse(before);
    if (!id.ok()) return Fail(id.error());
    r.before = *id;
  }
  if (!older_than.empty()) {
    auto d = config::ParseDuration(older_than);
    if (!d.ok()) return Fail(MakeError(ErrorCode::kInvalidArgument, "--older-than: " + d.error().message));
    r.older_than = *d;
  }
  auto n = admin.Purge(r);
  if (!n.ok()) return Fail(n.error());
  std::cout << "purged " << *n << " dead letters\n";
  return 0;
}

}  // namespace

Result<std::unique_ptr<deadletter::Admin>> OpenDeadLetters(const DeadLetterSource& source) {
  SG_ASSIGN_OR_RETURN(queue::QueueConfig qc, LoadQueueConfig(source));
  if (qc.type == "kafka") {
    SG_ASSIGN_OR_RETURN(auto q, queue::OpenQueue(qc, /*ensure_topics=*/false));
    return std::unique_ptr<deadletter::Admin>(new OwnedDeadLetters(std::move(q), qc.topic_prefix));
  }
  SG_ASSIGN_OR_RETURN(std::string endpoint, source.endpoint());
  SG_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, source.channel(endpoint));
  auto remote = std::make_unique<keyservice::QueueAdminClient>(channel, endpoint, source.timeout);
  return std::unique_ptr<deadletter::Admin>(new GatewayOrDatabase(std::move(remote), qc));
}

void AddDeadLetterCommands(CLI::App& app,
                           std::function<Result<std::unique_ptr<deadletter::Admin>>()> open,
                           std::function<void(std::function<int()>)> set_action) {
  auto* dl = app.add_subcommand("deadletter", "what the gateway gave up on (kept with a reason)")
                 ->require_subcommand(1);
  // Option storage lives as long as the parser: shared with the callbacks.
  struct Options {
    std::string from, id, out, before, older_than;
    std::vector<std::string> ids;
    uint32_t limit = 100;
    bool message = false, all = false, json = false;
  };
  auto o = std::make_shared<Options>();
  auto with_admin = [open, set_action](std::function<int(deadletter::Admin&)> f) {
    set_action([open, f] {
      auto admin = open();
      if (!admin.ok()) return Fail(admin.error());
      return f(**admin);
    });
  };

  auto* list = dl->add_subcommand("list", "list dead letters, oldest first");
  list->add_option("--from", o->from, "start at this id (partition:offset)");
  list->add_option("--limit", o->limit, "at most this many (default 100)")->check(CLI::Range(1, 10000));
  list->add_flag("--json", o->json, "a JSON array (fields: docs/tenants.md)");
  list->callback([=] {
    with_admin([o](deadletter::Admin& a) { return List(a, o->from, o->limit, o->json); });
  });

  auto* show = dl->add_subcommand("show", "one dead letter: reason, envelope, headers");
  show->add_option("id", o->id, "partition:offset (or offset)")->required();
  show->add_flag("--message", o->message, "print the RFC 5322 message itself (may be decrypted mail)");
  show->add_option("--out", o->out, "with --message: write it to this file");
  show->callback([=] {
    with_admin([o](deadletter::Admin& a) { return Show(a, o->id, o->message, o->out); });
  });

  auto* replay = dl->add_subcommand("replay", "put copies back onto the topics they came from");
  replay->add_option("ids", o->ids, "partition:offset ...")->required();
  replay->callback([=] { with_admin([o](deadletter::Admin& a) { return Replay(a, o->ids); }); });

  auto* purge = dl->add_subcommand("purge", "remove dead letters (all, before an id, or older than)");
  auto* all = purge->add_flag("--all", o->all, "every dead letter");
  auto* before = purge->add_option("--before", o->before, "every dead letter before this id");
  auto* older = purge->add_option("--older-than", o->older_than, "dead-lettered longer ago than (7d, 12h)");
  all->excludes(before)->excludes(older);
  before->excludes(older);
  purge->callback([=] {
    if (!o->all && o->before.empty() && o->older_than.empty()) {
      throw CLI::ValidationError("deadletter purge", "give --all, --before ID or --older-than AGE");
    }
    with_admin([o](deadletter::Admin& a) { return Purge(a, o->all, o->before, o->older_than); });
  });
}

void AddDeadLetterCommands(CLI::App& app, Ctl& ctl) {
  AddDeadLetterCommands(
      app,
      [&ctl] {
        DeadLetterSource source;
        source.home = ctl.globals.home;
        source.config = ctl.globals.config;
        source.endpoint = [&ctl] { return ctl.Endpoint(); };
        source.channel = [&ctl](const std::string& ep) { return ctl.AdminChannel(ep); };
        source.timeout = std::chrono::seconds(ctl.globals.timeout_s);
        return OpenDeadLetters(source);
      },
      [&ctl](std::function<int()> f) { ctl.RunLocal(std::move(f)); });
}

}  // namespace sg::ctl
