#include "common/mail/der.h"

#include <gtest/gtest.h>

namespace sg::mail {
namespace {

std::string Length(size_t n) {
  std::string out;
  AppendDerLength(out, n);
  return out;
}

TEST(Der, LengthShortAndLongForms) {
  EXPECT_EQ(Length(0), std::string("\x00", 1));
  EXPECT_EQ(Length(127), "\x7f");
  EXPECT_EQ(Length(128), "\x81\x80");  // long form from 128
  EXPECT_EQ(Length(255), "\x81\xff");
  EXPECT_EQ(Length(256), std::string("\x82\x01\x00", 3));  // fewest length bytes
  EXPECT_EQ(Length(65536), std::string("\x83\x01\x00\x00", 4));
}

TEST(Der, Tlv) {
  EXPECT_EQ(DerTlv(0x04, "abc"),
            "\x04\x03"
            "abc");
  std::string big(300, 'z');
  EXPECT_EQ(DerTlv(0x30, big), std::string("\x30\x82\x01\x2c", 4) + big);
}

}  // namespace
}  // namespace sg::mail
