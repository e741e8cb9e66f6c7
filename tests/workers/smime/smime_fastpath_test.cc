// The engine's per-byte fast paths against straightforward reference
// implementations (the code they replaced) and OpenSSL, on edge cases and
// seeded random inputs: IsCrlfClean, NeedsTransportEncoding (8-bit scan),
// Base64EncodeAppend, the pre-sized memory BIO and CmsFinalEmbedded.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_engine.h"
#include "workers/smime/smime_mime.h"
#include "workers/smime/smime_signer.h"
#include "workers/smime/smime_trust.h"

namespace sg::smime {
namespace {

// --- reference implementations (the pre-optimisation code) ----------------

bool RefIsCrlfClean(std::string_view in) {
  size_t lfs = 0;
  for (size_t pos = 0;;) {
    const void* hit = std::memchr(in.data() + pos, '\n', in.size() - pos);
    if (hit == nullptr) break;
    size_t at = static_cast<size_t>(static_cast<const char*>(hit) - in.data());
    if (at == 0 || in[at - 1] != '\r') return false;
    ++lfs;
    pos = at + 1;
  }
  return static_cast<size_t>(std::count(in.begin(), in.end(), '\r')) == lfs;
}

bool RefNeedsTransportEncoding(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u == 0) return true;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find("\r\n", pos);
    size_t end = eol == std::string_view::npos ? text.size() : eol;
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > 76) return true;
    if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) return true;
    if (line.substr(0, 5) == "From ") return true;
    pos = eol == std::string_view::npos ? text.size() : eol + 2;
  }
  return false;
}

std::string RefBase64(std::string_view in) {
  std::string raw(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  raw.resize(static_cast<size_t>(n));
  std::string out;
  for (size_t i = 0; i < raw.size(); i += 76) {
    out += raw.substr(i, 76);
    out += "\r\n";
  }
  return out;
}

// The decoder's defining slow path: one character at a time.
std::optional<std::string> RefBase64Decode(std::string_view in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char ch : in) {
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    if (ch == '=') {
      padding = true;
      continue;
    }
    size_t v = kAlphabet.find(ch);
    if (v == std::string::npos || padding) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
    if (bits == 0) acc = 0;
  }
  return out;
}

// Text built from a small alphabet rich in the bytes the scanners care about.
std::string RandomText(std::mt19937& rng, size_t n, bool allow_8bit) {
  static const char kPlain[] = "ab Z\t=.From";
  std::string s(n, 'x');
  for (char& c : s) {
    unsigned r = rng() % 100;
    if (r < 6) {
      c = '\r';
    } else if (r < 12) {
      c = '\n';
    } else if (allow_8bit && r < 14) {
      c = static_cast<char>(r == 12 ? 0 : 0x80 + rng() % 128);
    } else {
      c = kPlain[rng() % (sizeof(kPlain) - 1)];
    }
  }
  return s;
}

// CRLF text with lines of random length around the 76-column limit.
std::string RandomCrlfLines(std::mt19937& rng, size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) {
    size_t len = 70 + rng() % 10;
    for (size_t j = 0; j < len; ++j) s.push_back(static_cast<char>('a' + rng() % 26));
    s += "\r\n";
  }
  return s;
}

TEST(FastPath, CrlfCleanEdgeCases) {
  const std::vector<std::string> cases = {
      "",          "\r",           "\n",           "\r\n",          "\n\r",        "a",
      "a\r",       "a\n",          "a\r\n",        "\r\r\n",        "\r\n\n",      "a\r\nb",
      "a\rb\r\n",  "a\r\n\r\nb\r", "x\r\n\r\n",    "\r\n\r\n\r\n", "ab\n\r\ncd",  "\r\n\r",
      std::string(300, 'a') + "\n",  std::string(255, 'a') + "\r\n" + std::string(300, 'b'),
      std::string(256, 'a') + "\r" + std::string(300, 'b'),  // bare CR at a block boundary
      std::string(255, 'a') + "\r" + "\n",                   // CRLF split across blocks
  };
  for (const std::string& c : cases) {
    EXPECT_EQ(IsCrlfClean(c), RefIsCrlfClean(c)) << ::testing::PrintToString(c);
  }
}

TEST(FastPath, CrlfCleanRandom) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 3000; ++i) {
    std::string s = RandomText(rng, rng() % 700, true);
    ASSERT_EQ(IsCrlfClean(s), RefIsCrlfClean(s)) << ::testing::PrintToString(s);
    std::string crlf = ToCrlf(s);
    ASSERT_TRUE(IsCrlfClean(crlf));
  }
}

TEST(FastPath, TransportScanEdgeCases) {
  std::string line76(76, 'a');
  const std::vector<std::string> cases = {
      "",
      "plain\r\n",
      line76 + "\r\n",
      line76 + "a\r\n",
      line76,
      line76 + "a",
      "trailing \r\n",
      "trailing\t\r\n",
      "trailing \r\nnext",
      "From me\r\n",
      "x\r\nFrom me\r\n",
      ">From me\r\n",
      std::string("nul\0byte\r\n", 10),
      "8bit \xC3\xA9\r\n",
      std::string(300, 'a') + "\xFF",
      std::string(1000, 'a') + std::string(1, '\0'),
      "lone\rCR\r\n",
      "lone\nLF\r\n",
      "\x7F\x01 controls\r\n",
  };
  for (const std::string& c : cases) {
    EXPECT_EQ(NeedsTransportEncoding(c), RefNeedsTransportEncoding(c))
        << ::testing::PrintToString(c);
  }
}

TEST(FastPath, TransportScanRandom) {
  std::mt19937 rng(777);
  for (int i = 0; i < 3000; ++i) {
    std::string s = i % 2 ? RandomText(rng, rng() % 900, i % 3 == 0)
                          : RandomCrlfLines(rng, 1 + rng() % 20);
    if (i % 5 == 0 && !s.empty()) s[rng() % s.size()] = static_cast<char>(0x80 + rng() % 128);
    ASSERT_EQ(NeedsTransportEncoding(s), RefNeedsTransportEncoding(s))
        << ::testing::PrintToString(s);
  }
}

TEST(FastPath, Base64MatchesOpenSslAtWrapBoundaries) {
  std::mt19937 rng(99);
  std::vector<size_t> sizes = {0, 1, 2, 3, 4, 55, 56, 57, 58, 59, 113, 114, 115, 116, 1000, 4096};
  for (int i = 0; i < 200; ++i) sizes.push_back(rng() % 5000);
  for (size_t n : sizes) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::string expect = RefBase64(data);
    EXPECT_EQ(Base64Encode(data), expect) << n;
    std::string appended = "prefix\r\n";
    Base64EncodeAppend(data, appended);
    EXPECT_EQ(appended, "prefix\r\n" + expect) << n;
    auto back = Base64Decode(appended.substr(8));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, data);
  }
}

TEST(FastPath, Base64DecodeMatchesReference) {
  std::mt19937 rng(4242);
  for (int i = 0; i < 2000; ++i) {
    std::string data(rng() % 3000, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::string enc = Base64Encode(data);
    switch (i % 6) {
      case 1: {  // LF line ends
        std::string lf;
        for (char c : enc) {
          if (c != '\r') lf.push_back(c);
        }
        enc = lf;
        break;
      }
      case 2:  // a junk character somewhere
        if (!enc.empty()) enc[rng() % enc.size()] = "*-_.!"[rng() % 5];
        break;
      case 3:  // padding or a line break in the middle of a line
        if (!enc.empty()) enc.insert(rng() % enc.size(), i % 4 ? "=" : "\r\n");
        break;
      case 4:  // a space or a lone CR inside a line
        if (!enc.empty()) enc.insert(rng() % enc.size(), i % 4 ? " " : "\r");
        break;
      case 5:  // truncated
        if (!enc.empty()) enc.resize(rng() % enc.size());
        break;
      default:
        break;
    }
    auto got = Base64Decode(enc);
    auto want = RefBase64Decode(enc);
    ASSERT_EQ(got.ok(), want.has_value()) << ::testing::PrintToString(enc);
    if (want) {
      ASSERT_EQ(*got, *want) << ::testing::PrintToString(enc);
    }
    if (i % 6 == 0 || i % 6 == 1) {
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(*got, data);
    }
  }
}

TEST(FastPath, ReservedWriteBioGrowsPastItsReserve) {
  for (size_t reserve : {size_t{0}, size_t{1}, size_t{100}, size_t{10000}}) {
    internal::BioPtr bio = internal::WriteBio(reserve);
    ASSERT_TRUE(bio);
    EXPECT_TRUE(internal::BioContents(bio.get()).empty());
    std::string expect;
    for (int i = 0; i < 50; ++i) {
      std::string chunk(static_cast<size_t>(i * 37 % 500), static_cast<char>('a' + i % 26));
      if (!chunk.empty()) {
        ASSERT_EQ(BIO_write(bio.get(), chunk.data(), static_cast<int>(chunk.size())),
                  static_cast<int>(chunk.size()));
      }
      expect += chunk;
    }
    EXPECT_EQ(internal::BioContents(bio.get()), expect);
  }
}

// CmsFinalEmbedded output must decrypt (with OpenSSL's own CMS_decrypt) to
// exactly the plaintext for sizes around the AES block and BIO chunk sizes.
TEST(FastPath, CmsFinalEmbeddedRoundTrip) {
  const auto& pki = testing::GetTestPki();
  const EVP_CIPHER* ciphers[] = {EVP_aes_256_cbc(), EVP_aes_256_gcm()};
  for (const EVP_CIPHER* cipher : ciphers) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{4095},
                     size_t{4096}, size_t{4097}, size_t{100000}}) {
      std::string plain(n, '\0');
      for (size_t i = 0; i < n; ++i) plain[i] = static_cast<char>(i * 131 + 7);
      // Two pieces, split off-centre, as the no-copy encrypt path passes them.
      const std::string_view pieces[] = {std::string_view(plain).substr(0, n / 3),
                                         std::string_view(plain).substr(n / 3)};
      internal::CmsPtr cms(CMS_encrypt(nullptr, nullptr, cipher, CMS_PARTIAL | CMS_BINARY));
      ASSERT_TRUE(cms);
      ASSERT_NE(CMS_add1_recipient_cert(cms.get(), pki.carol.cert.get(), 0), nullptr);
      ASSERT_TRUE(internal::CmsFinalEmbedded(cms.get(), pieces).ok()) << n;
      auto der = internal::CmsToDerBuffer(cms.get());
      ASSERT_TRUE(der.ok());
      cms.reset();
      auto parsed = internal::CmsFromDer(der->view());
      ASSERT_TRUE(parsed.ok());
      internal::BioPtr out = internal::WriteBio();
      ASSERT_EQ(CMS_decrypt(parsed->get(), pki.carol.key.get(), pki.carol.cert.get(), nullptr,
                            out.get(), CMS_BINARY),
                1)
          << n;
      EXPECT_EQ(internal::BioContents(out.get()), plain) << n;
    }
  }
}

// The no-copy split is, piece by piece, the copying one.
TEST(FastPath, NoCopySplitEqualsSplit) {
  const std::vector<std::string> messages = {
      "",
      "Subject: x\r\n\r\nbody\r\n",
      "Subject: x\n\nLF body\nline\n",
      "Subject: x\r\nContent-Type: text/plain\r\nMIME-Version: 1.0\r\n\r\nbare\rCR\r\n",
      "From: a@b\r\nSubject: 8 bit\r\n\r\n\xC3\xA9t\xC3\xA9\r\n",
      "no header at all\r\n",
      "Subject: folded\r\n value\r\nContent-Type: multipart/mixed;\r\n boundary=b\r\n\r\n"
      "--b\r\n\r\nx\r\n--b--\r\n",
  };
  for (const std::string& m : messages) {
    auto copy = SplitForSmime(m, false, MimeLimits{});
    auto view = SplitForSmimeNoCopy(m, MimeLimits{});
    ASSERT_EQ(copy.ok(), view.ok());
    if (!copy.ok()) continue;
    EXPECT_EQ(copy->outer_headers, view->outer_headers) << m;
    EXPECT_EQ(copy->entity, view->entity_headers + std::string(view->body())) << m;
    EXPECT_TRUE(IsCrlfClean(copy->entity)) << m;
  }
}

// Sign writes the canonical entity straight into its output: the result must
// be what WrapSigned made of SplitForSmime (outer fields, then the entity as
// the first part, byte for byte) and must verify.
TEST(FastPath, SignWritesTheSplitEntityInPlace) {
  const auto& pki = testing::GetTestPki();
  auto engine = SmimeEngine::Create().value();
  PreparedSigner signer = PreparedSigner::Create(pki.alice.Signer()).value();
  TrustStore trust = pki.Trust();
  const std::string from = "From: " + pki.alice.email + "\r\n";
  const std::vector<std::string> bodies = {
      "Subject: plain\r\n\r\nhello\r\n",
      "Subject: lf\nMIME-Version: 1.0\n\nline one\nFrom here\ntrailing \n",
      "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n\xC3\xA9t\xC3\xA9 " + std::string(200, 'x') + "\r\n",
      "Subject: multi\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npre\r\n--b\r\n"
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "\x01\x02\x00\xFF\r\n--b--\r\n",
  };
  for (const std::string& b : bodies) {
    std::string msg = from + b;
    SignOptions options;
    options.signing_time = std::time(nullptr);
    auto signed_msg = engine->Sign(msg, signer, options);
    ASSERT_TRUE(signed_msg.ok()) << signed_msg.error().message;
    auto split = SplitForSmime(msg, true, MimeLimits{});
    ASSERT_TRUE(split.ok());
    ASSERT_EQ(signed_msg->compare(0, split->outer_headers.size(), split->outer_headers), 0) << b;
    auto top = ParseEntity(*signed_msg, MimeLimits{});
    ASSERT_TRUE(top.ok());
    ContentType ct = EntityContentType(*top);
    auto mp = SplitMultipart(top->body, ct.Param("boundary"), MimeLimits{});
    ASSERT_TRUE(mp.ok());
    ASSERT_EQ(mp->parts.size(), 2u);
    EXPECT_EQ(mp->parts[0], split->entity) << b;
    VerifyOptions no_date;  // these messages have no Date header (the rule is tested elsewhere)
    no_date.check_date = false;
    auto v = engine->Verify(*signed_msg, trust, std::time(nullptr), no_date);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->status, VerifyStatus::kGood) << v->detail;
  }
}

}  // namespace
}  // namespace sg::smime
