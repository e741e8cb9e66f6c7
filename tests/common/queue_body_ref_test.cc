// The body written once (common/queue_body_ref.h): a worker output equal to
// its source refers to it, egress resolves the reference, and a reference
// that cannot be resolved is a specific error.
#include "common/queue_body_ref.h"

#include <gtest/gtest.h>

#include <future>

#include "common/embedded_queue.h"
#include "tests/support/temp_dir.h"

namespace sg::queue {
namespace {

using smimegate::v1::MessageRecord;

MessageRecord Message(const std::string& id, const std::string& body) {
  MessageRecord m;
  m.mutable_envelope()->set_message_id(id);
  m.mutable_envelope()->add_recipients()->set_address("a@example.org");
  m.set_message(body);
  m.add_notes()->set_action("passed");
  return m;
}

TEST(QueueBodyRefTest, FindsTheMessageFieldOfASerialisedRecord) {
  const std::string body = "Subject: x\r\n\r\n" + std::string(100000, 'b') + "\r\n";
  const std::string wire = Message("id1", body).SerializeAsString();
  auto found = SerializedMessageField(wire);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, body);
  EXPECT_GE(found->data(), wire.data());  // a view into the record, not a copy
  EXPECT_FALSE(SerializedMessageField(std::string("\xff\xff\xff", 3)).has_value());
  EXPECT_EQ(SerializedMessageField(MessageRecord().SerializeAsString()).value_or("x"), "x");
}

TEST(QueueBodyRefTest, OnlyAnUnchangedBodyBecomesAReference) {
  Record source;
  source.topic = "in";
  source.partition = 2;
  source.offset = 7;
  const std::string body = "Subject: x\r\n\r\nhello\r\n";
  MessageRecord same = Message("id1", body);
  auto pin = ShareBody(source, body, same);
  ASSERT_TRUE(pin.has_value());
  EXPECT_EQ(*pin, (RecordRef{"in", 2, 7}));
  EXPECT_TRUE(same.message().empty());
  EXPECT_EQ(same.body_ref().offset(), 7);
  EXPECT_EQ(same.body_ref().length(), body.size());

  MessageRecord changed = Message("id1", "Subject: [signed OK] x\r\n\r\nhello\r\n");
  EXPECT_FALSE(ShareBody(source, body, changed).has_value());
  EXPECT_FALSE(changed.has_body_ref());
  MessageRecord one_byte_off = Message("id1", "Subject: x\r\n\r\nhellp\r\n");
  EXPECT_FALSE(ShareBody(source, body, one_byte_off).has_value());
}

class QueueBodyRefResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedQueueOptions o;
    o.path = dir_.path() + "/q";
    auto q = EmbeddedQueue::Open(o);
    ASSERT_TRUE(q.ok());
    queue_ = std::move(*q);
    ASSERT_TRUE(queue_->EnsureTopics({{"in", 1}}).ok());
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    OutRecord r;
    r.topic = "in";
    r.key = "id1";
    r.value = Message("id1", body_).SerializeAsString();
    std::promise<Status> done;
    (*p)->Produce(std::move(r), [&](Status s) { done.set_value(std::move(s)); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  MessageRecord Referring(int64_t offset, uint64_t length) {
    MessageRecord m = Message("id1", "");
    auto* ref = m.mutable_body_ref();
    ref->set_topic("in");
    ref->set_offset(offset);
    ref->set_length(length);
    return m;
  }
  testing::TempDir dir_;
  std::unique_ptr<EmbeddedQueue> queue_;
  const std::string body_ = "Subject: hi\r\n\r\n" + std::string(50000, 'x') + "\r\n";
};

TEST_F(QueueBodyRefResolveTest, AReferenceResolvesToTheSourceBody) {
  MessageRecord m = Referring(0, body_.size());
  auto st = ResolveBody(*queue_, "id1", m);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(m.message(), body_);
  EXPECT_FALSE(m.has_body_ref());
  MessageRecord plain = Message("id1", "inline");
  ASSERT_TRUE(ResolveBody(*queue_, "id1", plain).ok());
  EXPECT_EQ(plain.message(), "inline");
}

TEST_F(QueueBodyRefResolveTest, AReferenceThatCannotBeResolvedIsASpecificError) {
  MessageRecord gone = Referring(5, body_.size());
  auto st = ResolveBody(*queue_, "id1", gone);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_NE(st.error().message.find("body reference in/0@5"), std::string::npos)
      << st.error().message;
  MessageRecord other = Referring(0, body_.size());
  st = ResolveBody(*queue_, "id2", other);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kCorruption);
  MessageRecord wrong_length = Referring(0, body_.size() + 1);
  st = ResolveBody(*queue_, "id1", wrong_length);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(wrong_length.has_body_ref()) << "left as it was";
}

// The Kafka mode (ReferenceMode::kRetained): nothing pins the record, so
// the carrier has the body's SHA-256 (kBodyDigestHeader) and resolving
// checks it: a record of the same message and length at that offset with
// other bytes (a topic recreated, offsets reused) is refused, not delivered.
TEST_F(QueueBodyRefResolveTest, ADigestReferenceResolvesOnlyToTheSameBytes) {
  const std::string digest = BodyDigest(body_);
  ASSERT_EQ(digest.size(), 32u);
  EXPECT_NE(digest, BodyDigest(body_ + "x"));
  MessageRecord same = Referring(0, body_.size());
  auto st = ResolveBody(*queue_, "id1", same, digest);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(same.message(), body_);

  std::string other = digest;
  other[0] = static_cast<char>(other[0] ^ 1);
  MessageRecord tampered = Referring(0, body_.size());
  st = ResolveBody(*queue_, "id1", tampered, other);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kCorruption);
  EXPECT_NE(st.error().message.find("SHA-256"), std::string::npos) << st.error().message;
  EXPECT_TRUE(tampered.message().empty()) << "no body taken from a record that does not match";
  EXPECT_TRUE(tampered.has_body_ref()) << "left as it was";
}

}  // namespace
}  // namespace sg::queue
