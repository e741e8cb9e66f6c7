// smimegate_build_info and the certificate-expiry gauges
// (cmd/smimegate/app_info_metrics.h).
#include "cmd/smimegate/app_info_metrics.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include "common/tls_cert_expiry.h"
#include "common/tls_selfsigned.h"
#include "common/version.h"
#include "tests/support/temp_dir.h"

namespace sg::app {
namespace {

std::string DerOf(const std::string& pem_file) {
  FILE* f = fopen(pem_file.c_str(), "r");
  if (f == nullptr) return "";
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  (void)fclose(f);
  if (x == nullptr) return "";
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  X509_free(x);
  return out;
}

std::string Sample(const std::string& text, const std::string& labels) {
  const std::string key = "smimegate_certificate_not_after_timestamp_seconds{" + labels + "} ";
  const auto at = text.find(key);
  if (at == std::string::npos) return "";
  return text.substr(at + key.size(), text.find('\n', at) - at - key.size());
}

TEST(AppInfoMetricsTest, BuildInfoNamesTheVersionAndRevision) {
  metrics::Registry r;
  ExportBuildInfo(r);
  const std::string want = "smimegate_build_info{version=\"" + std::string(ProjectVersion()) +
                           "\",revision=\"" + std::string(GitDescribe()) + "\"} 1";
  EXPECT_NE(r.Serialize().find(want), std::string::npos) << r.Serialize();
}

TEST(AppInfoMetricsTest, CertificateExpiryPerListenerAndCaNeverForUnreadableFiles) {
  sg::testing::TempDir dir;
  const int64_t now = time(nullptr);
  auto files = tls::EnsureSelfSignedCertificate(dir.path(), "gw.example", now);
  ASSERT_TRUE(files.ok()) << files.error().ToString();
  auto not_after = tls::PemFileNotAfter(files->cert_file);
  ASSERT_TRUE(not_after.ok()) << not_after.error().ToString();
  EXPECT_GT(*not_after, now);
  keyservice::CaCertificates ca;
  ca.all.push_back({"default", "internal", DerOf(files->cert_file), ""});
  ca.all.push_back({"example.org", "cmp", "not DER", ""});
  CertificateSources sources;
  sources.files = {{"tls_listener", "mx", files->cert_file},
                   {"tls_listener", "relay", dir.path() + "/missing.pem"}};
  sources.ca = &ca;
  metrics::Registry r;
  ExportCertificateExpiry(r, sources);
  const std::string text = r.Serialize();
  EXPECT_EQ(std::stod(Sample(text, "kind=\"tls_listener\",name=\"mx\"")), static_cast<double>(*not_after)) << text;
  EXPECT_EQ(std::stod(Sample(text, "kind=\"ca_root\",name=\"default\"")), static_cast<double>(*not_after));
  EXPECT_EQ(Sample(text, "kind=\"tls_listener\",name=\"relay\""), "");
  EXPECT_EQ(Sample(text, "kind=\"ca_root\",name=\"example.org\""), "");
  EXPECT_EQ(Sample(text, "kind=\"ca_issuing\",name=\"default\""), "");  // none given
}

}  // namespace
}  // namespace sg::app
