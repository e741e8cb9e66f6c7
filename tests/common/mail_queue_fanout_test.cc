// common/mail_queue_fanout.h: one queue over several egress pods, with fake
// pods that hold a fixed set of messages.
#include "common/mail_queue_fanout.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace sg::mailqueue {
namespace {

// One egress pod's queue: message id -> state; `down` fails every call.
class FakePod final : public Admin {
 public:
  FakePod(std::map<std::string, std::string> messages, bool down = false)
      : messages_(std::move(messages)), down_(down) {}

  Result<std::vector<Entry>> List() override {
    if (down_) return Down();
    std::vector<Entry> out;
    for (const auto& [id, state] : messages_) out.push_back(Make(id, state));
    return out;
  }
  Result<std::vector<Entry>> Show(const std::string& id) override {
    if (down_) return Down();
    if (!messages_.count(id))
      return MakeError(ErrorCode::kNotFound, "no message " + id + " in the queue");
    return std::vector<Entry>{Make(id, messages_[id])};
  }
  Result<uint32_t> Hold(const std::string& id, const std::string&) override {
    return Move(id, "deferred", "held");
  }
  Result<uint32_t> Release(const std::string& id) override { return Move(id, "held", "deferred"); }
  Result<uint32_t> Delete(const std::string& id, const std::string&) override {
    if (down_) return Down();
    if (!messages_.erase(id)) return MakeError(ErrorCode::kNotFound, "no message " + id);
    return 1u;
  }
  Result<uint32_t> Retry(const std::string& domain) override {
    if (down_) return Down();
    uint32_t n = 0;
    for (const auto& [id, state] : messages_) {
      if (state == "deferred" && (domain.empty() || id.find(domain) != std::string::npos)) ++n;
    }
    return n;
  }

  std::map<std::string, std::string> messages_;

 private:
  static Error Down() { return MakeError(ErrorCode::kUnavailable, "connection refused"); }
  static Entry Make(const std::string& id, const std::string& state) {
    Entry e;
    e.message_id = id;
    e.state = state;
    e.recipients = {"x@" + id.substr(id.find('@') + 1)};
    return e;
  }
  Result<uint32_t> Move(const std::string& id, const std::string& from, const std::string& to) {
    if (down_) return Down();
    auto it = messages_.find(id);
    if (it == messages_.end()) return MakeError(ErrorCode::kNotFound, "no message " + id);
    if (it->second != from) return MakeError(ErrorCode::kNotFound, "no " + from + " message " + id);
    it->second = to;
    return 1u;
  }
  bool down_;
};

class FanOutTest : public ::testing::Test {
 protected:
  // Pod a holds m1@one.example (deferred); pod b m2@two.example (deferred)
  // and m3@two.example (held).
  void SetUp() override { Make(false); }
  void Make(bool b_down) {
    auto a = std::make_unique<FakePod>(
        std::map<std::string, std::string>{{"m1@one.example", "deferred"}});
    auto b =
        std::make_unique<FakePod>(std::map<std::string, std::string>{{"m2@two.example", "deferred"},
                                                                     {"m3@two.example", "held"}},
                                  b_down);
    a_ = a.get();
    b_ = b.get();
    std::vector<FanOutMailQueue::Pod> pods;
    pods.push_back({"egress-0 127.0.0.1:1", std::move(a)});
    pods.push_back({"egress-1 127.0.0.1:2", std::move(b)});
    q_ = std::make_unique<FanOutMailQueue>(std::move(pods));
  }
  FakePod* a_ = nullptr;
  FakePod* b_ = nullptr;
  std::unique_ptr<FanOutMailQueue> q_;
};

TEST_F(FanOutTest, ListAndSummaryCoverEveryPod) {
  auto all = q_->List();
  ASSERT_TRUE(all.ok()) << all.error().message;
  std::set<std::string> ids;
  for (const auto& e : *all) ids.insert(e.message_id);
  EXPECT_EQ(ids, (std::set<std::string>{"m1@one.example", "m2@two.example", "m3@two.example"}));
  const Summary s = Summarize(*all, 0);
  EXPECT_EQ(s.total.total, 3u);
  EXPECT_EQ(s.states.at("deferred"), 2u);
}

TEST_F(FanOutTest, ChangesGoToThePodThatHasTheMessage) {
  auto held = q_->Hold("m2@two.example", "admin");
  ASSERT_TRUE(held.ok()) << held.error().message;
  EXPECT_EQ(*held, 1u);
  EXPECT_EQ(b_->messages_["m2@two.example"], "held");
  auto released = q_->Release("m3@two.example");
  ASSERT_TRUE(released.ok()) << released.error().message;
  EXPECT_EQ(b_->messages_["m3@two.example"], "deferred");
  auto deleted = q_->Delete("m1@one.example", "admin");
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_TRUE(a_->messages_.empty());
  auto shown = q_->Show("m2@two.example");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  ASSERT_EQ(shown->size(), 1u);
  EXPECT_EQ((*shown)[0].state, "held");
}

TEST_F(FanOutTest, UnknownIdIsNotFoundAndWrongStateIsReported) {
  auto shown = q_->Show("nosuchid");
  ASSERT_FALSE(shown.ok());
  EXPECT_EQ(shown.error().code, ErrorCode::kNotFound);
  EXPECT_NE(shown.error().message.find("no message nosuchid"), std::string::npos);
  auto released = q_->Release("m1@one.example");  // deferred, not held
  ASSERT_FALSE(released.ok());
  // Pod a has it in another state, b not at all: the first pod's answer.
  EXPECT_EQ(released.error().code, ErrorCode::kNotFound);
  EXPECT_NE(released.error().message.find("no held message m1@one.example"), std::string::npos);
}

TEST_F(FanOutTest, RetrySumsEveryPod) {
  auto all = q_->Retry("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 2u);
  auto two = q_->Retry("two.example");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, 1u);
}

TEST_F(FanOutTest, APodDownFailsListAndRetryNamingItButNotChangesElsewhere) {
  Make(/*b_down=*/true);
  auto all = q_->List();
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(all.error().message.find("egress-1 127.0.0.1:2: connection refused"),
            std::string::npos);
  EXPECT_FALSE(q_->Retry("").ok());
  auto held = q_->Hold("m1@one.example", "admin");  // on pod a, which answers
  ASSERT_TRUE(held.ok()) << held.error().message;
  auto missing = q_->Show("m2@two.example");  // maybe on the pod that is down
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(missing.error().message.find("egress-1"), std::string::npos);
}

}  // namespace
}  // namespace sg::mailqueue
