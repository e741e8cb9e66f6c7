// The queue record ingress builds: whatever bytes a client put into the
// envelope or the Message-ID, the record must parse again downstream
// (protobuf refuses `string` fields that are not UTF-8: the worker would
// dead-letter a message already answered with 250). Found by the
// ingress_session fuzz target (tests/ingress/session_seeds/fuzz_invalid_utf8_message_id).
#include "ingress/ingress_envelope.h"

#include <gtest/gtest.h>

namespace sg::ingress {
namespace {

TEST(BuildRecord, ClientBytesThatAreNotUtf8StillParseDownstream) {
  SessionConfig cfg;
  SessionState s;
  s.config = &cfg;
  s.client_ip = "192.0.2.1";
  s.helo = "h\xe9lo";
  s.tls.peer_subject = "CN=\xff";
  Transaction tx;
  tx.from.address = "a@example.net";
  tx.params.envid = "env\xe9";
  AcceptedRecipient r;
  r.path.address = "b@example.org";
  r.params.orcpt = "rfc822;b\xc3@example.org";
  tx.recipients.push_back(r);

  auto rec = BuildRecord(s, tx, "MSG1", 1700000000000,
                         "Message-ID: <a\xe9@example.net>\r\nSubject: x\r\n\r\nbody\r\n");
  smimegate::v1::MessageRecord again;
  ASSERT_TRUE(again.ParseFromString(rec.SerializeAsString()));
  EXPECT_EQ(again.envelope().header_message_id(), "<a?@example.net>");
  EXPECT_EQ(again.envelope().client().helo(), "h?lo");
  EXPECT_EQ(again.envelope().dsn_envid(), "env?");
  EXPECT_EQ(again.envelope().recipients(0).orcpt(), "rfc822;b?@example.org");
  EXPECT_EQ(again.envelope().tls().peer_subject(), "CN=?");
  // The message itself is bytes: never altered.
  EXPECT_NE(again.message().find("<a\xe9@example.net>"), std::string::npos);
}

TEST(BuildRecord, ValidUtf8IsKept) {
  SessionConfig cfg;
  SessionState s;
  s.config = &cfg;
  s.helo = "mx.example.net";
  Transaction tx;
  tx.from.address = "j\xc3\xb6rg@example.net";
  tx.from.non_ascii = true;
  AcceptedRecipient r;
  r.path.address = "b@example.org";
  tx.recipients.push_back(r);
  auto rec = BuildRecord(s, tx, "MSG1", 1700000000000,
                         "Message-ID: <j\xc3\xb6rg@example.net>\r\n\r\nbody\r\n");
  EXPECT_EQ(rec.envelope().header_message_id(), "<j\xc3\xb6rg@example.net>");
  EXPECT_EQ(rec.envelope().mail_from(), "j\xc3\xb6rg@example.net");
}

}  // namespace
}  // namespace sg::ingress
