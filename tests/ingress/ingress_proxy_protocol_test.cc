// The PROXY protocol v2 parser (ingress/ingress_proxy_protocol.h): real
// headers as HAProxy and AWS NLB send them, and hostile ones.
#include "ingress/ingress_proxy_protocol.h"

#include <gtest/gtest.h>

#include <random>

namespace sg::ingress {
namespace {

using State = ProxyV2Result::State;

std::string Sig() { return {"\r\n\r\n\0\r\nQUIT\n", 12}; }

std::string Be16(size_t v) { return {static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)}; }

// A header: version/command byte, family byte, then `rest` (addresses + TLVs).
std::string Header(uint8_t ver_cmd, uint8_t fam, const std::string& rest) {
  return Sig() + static_cast<char>(ver_cmd) + static_cast<char>(fam) + Be16(rest.size()) + rest;
}

std::string Inet4(const std::string& tlvs = "") {
  // 198.51.100.7:40000 -> 10.0.0.1:25
  return std::string("\xC6\x33\x64\x07\x0A\x00\x00\x01", 8) + Be16(40000) + Be16(25) + tlvs;
}

TEST(ProxyV2Test, ParsesAnIpv4HeaderAndSkipsTlvs) {
  // AWS NLB: PP2_TYPE_AWS (0xEA) with the VPC endpoint id; an empty NOOP TLV.
  const std::string tlvs = std::string("\xEA") + Be16(23) + "\x01vpce-08d2bf15fac5001c9" +
                           std::string("\x04\x00\x00", 3);
  const std::string h = Header(0x21, 0x11, Inet4(tlvs));
  auto r = ParseProxyV2(h + "EHLO x\r\n");
  ASSERT_EQ(r.state, State::kDone) << r.reason;
  EXPECT_EQ(r.consumed, h.size());
  EXPECT_FALSE(r.local);
  EXPECT_EQ(r.source_ip, "198.51.100.7");
  EXPECT_EQ(r.source_port, 40000);
}

TEST(ProxyV2Test, ParsesIpv6AndMapsIpv4InIpv6) {
  std::string a(16, '\0');
  a[0] = '\x20'; a[1] = '\x01'; a[2] = '\x0d'; a[3] = '\xb8'; a[15] = '\x05';
  auto r = ParseProxyV2(Header(0x21, 0x21, a + std::string(16, '\0') + Be16(1234) + Be16(25)));
  ASSERT_EQ(r.state, State::kDone) << r.reason;
  EXPECT_EQ(r.source_ip, "2001:db8::5");
  EXPECT_EQ(r.source_port, 1234);
  std::string m(16, '\0');
  m[10] = m[11] = '\xFF';
  m[12] = '\xC0'; m[13] = '\x00'; m[14] = '\x02'; m[15] = '\x09';
  r = ParseProxyV2(Header(0x21, 0x21, m + std::string(16, '\0') + Be16(1) + Be16(25)));
  ASSERT_EQ(r.state, State::kDone) << r.reason;
  EXPECT_EQ(r.source_ip, "192.0.2.9");
}

TEST(ProxyV2Test, LocalAndUnixKeepTheSocketAddress) {
  auto r = ParseProxyV2(Header(0x20, 0x00, ""));  // a balancer's health check
  ASSERT_EQ(r.state, State::kDone) << r.reason;
  EXPECT_TRUE(r.local);
  EXPECT_EQ(r.consumed, 16u);
  r = ParseProxyV2(Header(0x21, 0x31, std::string(216, 'x')));
  ASSERT_EQ(r.state, State::kDone) << r.reason;
  EXPECT_TRUE(r.local);
}

TEST(ProxyV2Test, WaitsForTheWholeHeaderWhateverTheSplit) {
  const std::string h = Header(0x21, 0x11, Inet4());
  for (size_t n = 0; n < h.size(); ++n) {
    EXPECT_EQ(ParseProxyV2(h.substr(0, n)).state, State::kNeedMore) << n;
  }
  EXPECT_EQ(ParseProxyV2(h).state, State::kDone);
}

TEST(ProxyV2Test, RefusesHostileHeadersWithAReason) {
  struct Case {
    std::string bytes, metric;
  };
  const std::vector<Case> cases = {
      {"EHLO client.example\r\n", "bad_signature"},
      {"PROXY TCP4 198.51.100.7 10.0.0.1 40000 25\r\n", "v1_header"},
      {"PROX", "v1_header"},
      {Header(0x11, 0x11, Inet4()), "bad_version"},
      {Header(0x22, 0x11, Inet4()), "bad_command"},
      {Header(0x21, 0x41, Inet4()), "bad_family"},
      {Header(0x21, 0x12, Inet4()), "bad_family"},  // a datagram
      {Header(0x21, 0x11, std::string(8, '\0')), "bad_length"},  // shorter than the addresses
      {Header(0x21, 0x21, Inet4()), "bad_length"},  // IPv6 needs 36 bytes
      {Header(0x21, 0x11, Inet4(std::string("\x04\x00\x09", 3) + "ab")), "bad_tlv"},
      {Header(0x21, 0x11, Inet4(std::string("\x04\x00", 2))), "bad_tlv"},
      {Sig() + "\x21\x11" + Be16(65535), "too_long"},  // refused before 64 KB arrive
  };
  for (const auto& c : cases) {
    auto r = ParseProxyV2(c.bytes);
    EXPECT_EQ(r.state, State::kError) << c.metric;
    EXPECT_EQ(r.metric_reason, c.metric) << r.reason;
    EXPECT_FALSE(r.reason.empty());
  }
}

TEST(ProxyV2Test, RandomBytesNeverCrashAndNeverConsumeMoreThanGiven) {
  std::mt19937 rng(24);  // NOLINT(cert-msc32-c,cert-msc51-cpp): reproducible on purpose
  const std::string good = Header(0x21, 0x11, Inet4(std::string("\x04\x00\x01z", 4)));
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    if (i % 2 == 0) {  // a valid header with a few bytes changed or cut
      s = good;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) s[rng() % s.size()] = static_cast<char>(rng());
      s.resize(rng() % (s.size() + 1));
    } else {
      s.resize(rng() % 64);
      for (auto& ch : s) ch = static_cast<char>(rng());
      if (i % 4 == 1) s.insert(0, Sig());
    }
    auto r = ParseProxyV2(s);
    if (r.state == State::kDone) {
      ASSERT_LE(r.consumed, s.size());
      ASSERT_LE(r.consumed, kMaxProxyV2Length);
      ASSERT_TRUE(r.local || !r.source_ip.empty());
    }
    if (r.state == State::kError) {
      ASSERT_FALSE(r.metric_reason.empty());
    }
  }
}

}  // namespace
}  // namespace sg::ingress
