#include "common/mail/address.h"

#include <gtest/gtest.h>

#include "common/ascii.h"

namespace sg::mail {
namespace {

struct Case {
  const char* in;
  const char* want;  // nullptr: refused
  bool non_ascii = false;
};

TEST(Address, NormalizeTable) {
  const Case cases[] = {
      {"alice@example.org", "alice@example.org"},
      {"Alice@Example.ORG", "alice@example.org"},  // ASCII case folded
      {"first.last+tag@sub.example.org", "first.last+tag@sub.example.org"},
      {"\"alice\"@example.org", "alice@example.org"},            // RFC 5321 4.1.2: same mailbox
      {"\"Al\\ice\"@example.org", "alice@example.org"},          // needless escape
      {"\"john doe\"@example.org", "\"john doe\"@example.org"},  // stays quoted
      {"\"John Doe\"@Example.org", "\"john doe\"@example.org"},
      {"\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org"},  // only '"' and '\' escaped
      {"\"a@b\"@example.org", "\"a@b\"@example.org"},
      {"\"odd >local\"@example.org", "\"odd >local\"@example.org"},
      {"\"\"@example.org", "\"\"@example.org"},
      {"\"a..b\"@example.org", "\"a..b\"@example.org"},  // not a dot-string
      {"user@[192.0.2.7]", "user@[192.0.2.7]"},
      {"user@[IPv6:2001:db8::1]", "user@[ipv6:2001:db8::1]"},
      {"j\xc3\xb6rg@example.org", "j\xc3\xb6rg@example.org", true},  // UTF-8 local part kept
      {"J\xc3\x96RG@example.org", "j\xc3\x96rg@example.org", true},  // only ASCII folded
      {"bob@b\xc3\xbc"
       "cher.example",
       "bob@xn--bcher-kva.example", true},  // U-label -> A-label
      {"bob@B\xc3\x9c"
       "CHER.example",
       "bob@xn--bcher-kva.example", true},  // UTS #46 mapping
      {"bob@xn--bcher-kva.example", "bob@xn--bcher-kva.example"},
      {"bob@XN--BCHER-KVA.example", "bob@xn--bcher-kva.example"},
      {"bob@fa\xc3\x9f.de", "bob@xn--fa-hia.de", true},  // non-transitional: ß kept
      {"a@b.c", "a@b.c"},
      {"a@123.example", "a@123.example"},
      // Refused.
      {"", nullptr},
      {"alice", nullptr},
      {"@example.org", nullptr},
      {"alice@", nullptr},
      {".alice@example.org", nullptr},
      {"al..ice@example.org", nullptr},
      {"alice.@example.org", nullptr},
      {"al ice@example.org", nullptr},
      {"al<ice@example.org", nullptr},
      {"\"unterminated@example.org", nullptr},
      {"\"a\"b\"@example.org", nullptr},
      {"\"a\x01\"@example.org", nullptr},
      {"\xff@example.org", nullptr},  // invalid UTF-8
      {"alice@-example.org", nullptr},
      {"alice@example-.org", nullptr},
      {"alice@exa_mple.org", nullptr},
      {"alice@example..org", nullptr},
      {"alice@example.org.", nullptr},  // no trailing dot in a path
      {"alice@[300.1.1.1]", nullptr},
      {"alice@xn--zz.example", nullptr},    // bad punycode
      {"alice@\xe2\x98\x83.net", nullptr},  // disallowed code point
      {"alice@b\xffz.example", nullptr},    // invalid UTF-8 domain
  };
  for (const Case& c : cases) {
    auto got = ParseMailbox(c.in);
    if (c.want == nullptr) {
      EXPECT_FALSE(got.ok()) << c.in << " -> " << (got.ok() ? got->Address() : "");
      if (!got.ok()) {
        EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
      }
      continue;
    }
    ASSERT_TRUE(got.ok()) << c.in << ": " << got.error().ToString();
    EXPECT_EQ(got->Address(), c.want) << c.in;
    EXPECT_EQ(got->non_ascii, c.non_ascii) << c.in;
    // Idempotent: the normalised form normalises to itself.
    auto again = NormalizeAddress(got->Address());
    ASSERT_TRUE(again.ok()) << got->Address();
    EXPECT_EQ(*again, got->Address());
  }
}

TEST(Address, LengthLimits) {
  EXPECT_TRUE(NormalizeAddress(std::string(64, 'a') + "@example.org").ok());
  EXPECT_FALSE(NormalizeAddress(std::string(65, 'a') + "@example.org").ok());
  EXPECT_TRUE(NormalizeAddress("a@" + std::string(63, 'b') + ".org").ok());
  EXPECT_FALSE(NormalizeAddress("a@" + std::string(64, 'b') + ".org").ok());
}

TEST(Address, ErrorsNameTheAddressAndTheReason) {
  auto r = NormalizeAddress("al..ice@example.org");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("\"al..ice@example.org\""), std::string::npos);
  EXPECT_NE(r.error().message.find("local part"), std::string::npos);
  auto d = NormalizeAddress("a@\xe2\x98\x83.net");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("internationalised"), std::string::npos) << d.error().message;
}

TEST(Address, DomainOfIsNormalisedAndTotal) {
  EXPECT_EQ(DomainOf("user@Example.ORG"), "example.org");
  EXPECT_EQ(DomainOf("\"a@b\"@Example.org"), "example.org");
  EXPECT_EQ(DomainOf("user@b\xc3\xbc"
                     "cher.example"),
            "xn--bcher-kva.example");
  EXPECT_EQ(DomainOf("user@[IPv6:2001:db8::1]"), "[ipv6:2001:db8::1]");
  EXPECT_EQ(DomainOf("no-at-sign"), "");
  // Not a domain: lower-cased as written, so it matches no configured domain.
  EXPECT_EQ(DomainOf("user@Exa_Mple.org"), "exa_mple.org");
}

TEST(Address, NormalizeDomain) {
  EXPECT_EQ(*NormalizeDomain("Example.ORG"), "example.org");
  EXPECT_EQ(*NormalizeDomain("example.org."), "example.org");  // FQDN dot dropped
  EXPECT_EQ(*NormalizeDomain("B\xc3\xbc"
                             "cher.example"),
            "xn--bcher-kva.example");
  EXPECT_EQ(*NormalizeDomain("localhost"), "localhost");
  EXPECT_FALSE(NormalizeDomain("").ok());
  EXPECT_FALSE(NormalizeDomain(".").ok());
  EXPECT_FALSE(NormalizeDomain("a b.org").ok());
  EXPECT_FALSE(NormalizeDomain("user@example.org").ok());
  EXPECT_FALSE(NormalizeDomain("[192.0.2.1]").ok());
}

TEST(Address, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));  // beyond U+10FFFF
}

TEST(Ascii, LowerChangesOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("AbC-\xc3\x96Z@[]"), "abc-\xc3\x96z@[]");
  EXPECT_TRUE(AsciiEqualsIgnoreCase("Content-Type", "content-TYPE"));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("Content-Type", "content-typ"));
  // Bytes that differ by 0x20 but are not letters do not compare equal.
  EXPECT_FALSE(AsciiEqualsIgnoreCase("@", "`"));
}

TEST(Ascii, TrimDropsOnlyTheNamedBytesAtBothEnds) {
  EXPECT_EQ(AsciiTrim(" \t\r\n\v\fkey material\n"), "key material");
  EXPECT_EQ(AsciiTrim("  \t "), "");
  EXPECT_EQ(AsciiTrim(""), "");
  EXPECT_EQ(AsciiTrim("\r\n a b \r\n", " \t"), "\r\n a b \r\n");  // HTTP OWS keeps CR LF
  EXPECT_EQ(AsciiTrim("\t1.2.3.4 ", " \t"), "1.2.3.4");
  EXPECT_EQ(AsciiTrim("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");  // UTF-8 NBSP is not ASCII space
}

}  // namespace
}  // namespace sg::mail
