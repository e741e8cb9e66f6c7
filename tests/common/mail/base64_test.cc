// The MIME forms of base64 (76-column lines, tolerant decoder) are tested
// against OpenSSL at every wrap boundary in tests/workers/smime/
// smime_fastpath_test.cc (the S/MIME engine is their main user); here the
// one-line and strict forms used by SASL and key files.
#include "common/mail/base64.h"

#include <gtest/gtest.h>

namespace sg::mail {
namespace {

TEST(Base64, WellformedBodies) {
  EXPECT_TRUE(Base64Wellformed(""));
  EXPECT_TRUE(Base64Wellformed("YWJj\r\nYQ==\r\n"));
  EXPECT_TRUE(Base64Wellformed("YW Jj\tYQ= =\n"));
  EXPECT_FALSE(Base64Wellformed("YWJj!"));         // outside the alphabet
  EXPECT_FALSE(Base64Wellformed("YQ==YWJj"));      // data after the padding
  EXPECT_FALSE(Base64Wellformed("YWJj\x80"));      // 8-bit
  for (const char* ok : {"YQ==", "YWJj\r\n"}) EXPECT_TRUE(Base64Decode(ok).ok()) << ok;
}

TEST(Base64, OneLineRoundTrip) {
  EXPECT_EQ(Base64EncodeOneLine(""), "");
  EXPECT_EQ(Base64EncodeOneLine("a"), "YQ==");
  EXPECT_EQ(Base64EncodeOneLine("ab"), "YWI=");
  EXPECT_EQ(Base64EncodeOneLine("abc"), "YWJj");
  std::string bin;
  for (int i = 0; i < 300; ++i) bin.push_back(static_cast<char>(i * 7));
  std::string enc = Base64EncodeOneLine(bin);
  EXPECT_EQ(enc.find_first_of("\r\n"), std::string::npos);  // one line, however long
  EXPECT_EQ(enc.size(), 400u);
  EXPECT_EQ(*Base64DecodeStrict(enc), bin);
  EXPECT_EQ(*Base64Decode(enc), bin);
}

TEST(Base64, StrictRefusesWhatTheMimeDecoderTolerates) {
  EXPECT_EQ(*Base64DecodeStrict(""), "");
  EXPECT_EQ(*Base64DecodeStrict("YWJj"), "abc");
  EXPECT_EQ(*Base64DecodeStrict("YQ=="), "a");
  for (const char* bad : {"YQ=", "YWJ", "YW J", "YWJj\r\n", "Y===", "YQ=a", "=QWE", "YW*j"}) {
    auto r = Base64DecodeStrict(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(*Base64Decode("YW\r\nJj"), "abc");  // MIME: line breaks anywhere
}

TEST(Base64, MimeLinesAre76Columns) {
  std::string data(200, 'x');
  std::string enc = Base64Encode(data);
  EXPECT_EQ(enc.find("\r\n"), 76u);
  EXPECT_EQ(enc.substr(enc.size() - 2), "\r\n");
}

}  // namespace
}  // namespace sg::mail
