#include "workers/smime/smime_config.h"

#include <fstream>
#include <sstream>

namespace sg::smime {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  if (path.empty() || path[0] == '/' || data_dir.empty()) return path;
  return data_dir + "/" + path;
}

Result<std::vector<X509Ptr>> LoadPemFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIoError, "smime " + what + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto certs = ParseCertificateChain(ss.str());
  if (!certs.ok()) {
    return MakeError(ErrorCode::kInvalidArgument, "smime " + what + ": " + path + ": " +
                                                      certs.error().message +
                                                      " (expected PEM certificates)");
  }
  return certs;
}

}  // namespace

Result<SmimeConfig> ParseSmimeConfig(const config::ConfigNode& section,
                                     const std::string& data_dir) {
  SmimeConfig c;
  SG_ASSIGN_OR_RETURN(uint64_t max_message,
                      section.Size("max_message_size", c.limits.max_message_bytes));
  SG_ASSIGN_OR_RETURN(uint64_t max_header,
                      section.Size("max_header_size", c.limits.max_header_bytes));
  SG_ASSIGN_OR_RETURN(int64_t max_fields, section.Int("max_header_fields", 2000, 10, 1000000));
  SG_ASSIGN_OR_RETURN(int64_t max_depth, section.Int("max_mime_depth", 32, 1, 1000));
  SG_ASSIGN_OR_RETURN(int64_t max_parts, section.Int("max_mime_parts", 10000, 1, 10000000));
  c.limits.max_message_bytes = max_message;
  c.limits.max_header_bytes = max_header;
  c.limits.max_header_fields = static_cast<size_t>(max_fields);
  c.limits.max_depth = static_cast<int>(max_depth);
  c.limits.max_parts = static_cast<size_t>(max_parts);

  SG_ASSIGN_OR_RETURN(std::string cipher,
                      section.Enum("content_cipher",
                                   {"auto", "aes-256-cbc", "aes-128-cbc", "aes-256-gcm"}, "auto"));
  c.content_cipher = cipher == "aes-256-cbc"   ? ContentCipher::kAes256Cbc
                     : cipher == "aes-128-cbc" ? ContentCipher::kAes128Cbc
                     : cipher == "aes-256-gcm" ? ContentCipher::kAes256Gcm
                                               : ContentCipher::kAuto;
  SG_ASSIGN_OR_RETURN(std::string digest,
                      section.Enum("digest", {"sha256", "sha384", "sha512"}, "sha256"));
  c.digest = digest == "sha384"   ? DigestAlg::kSha384
             : digest == "sha512" ? DigestAlg::kSha512
                                  : DigestAlg::kSha256;
  SG_ASSIGN_OR_RETURN(c.rsa_oaep, section.Bool("rsa_oaep", false));
  SG_ASSIGN_OR_RETURN(c.rsa_pss, section.Bool("rsa_pss", false));
  SG_ASSIGN_OR_RETURN(c.check_from_address, section.Bool("check_from_address", true));
  SG_ASSIGN_OR_RETURN(c.allow_3des, section.Bool("allow_3des_decrypt", true));
  SG_ASSIGN_OR_RETURN(std::string sha1,
                      section.Enum("sha1_signatures", {"invalid", "weak"}, "invalid"));
  c.allow_sha1 = sha1 == "weak";
  SG_ASSIGN_OR_RETURN(c.check_signing_date, section.Bool("check_signing_date", true));

  SG_ASSIGN_OR_RETURN(config::ConfigNode revocation, section.Map("revocation"));
  SG_ASSIGN_OR_RETURN(c.revocation, ParseRevocationConfig(revocation));

  SG_ASSIGN_OR_RETURN(config::ConfigNode trust, section.Map("trust"));
  SG_ASSIGN_OR_RETURN(c.trust_system_roots, trust.Bool("system_roots", c.trust_system_roots));
  SG_ASSIGN_OR_RETURN(std::vector<std::string> anchors, trust.StringList("anchors"));
  SG_ASSIGN_OR_RETURN(std::vector<std::string> intermediates, trust.StringList("intermediates"));
  for (const std::string& a : anchors) c.trust_anchor_files.push_back(Resolve(a, data_dir));
  for (const std::string& i : intermediates) c.intermediate_files.push_back(Resolve(i, data_dir));
  return c;
}

Result<TrustStore> LoadTrustStore(const SmimeConfig& config) {
  TrustStoreOptions options;
  options.use_system_roots = config.trust_system_roots;
  for (const std::string& f : config.trust_anchor_files) {
    SG_ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, LoadPemFile(f, "trust anchor"));
    options.anchors.insert(options.anchors.end(), certs.begin(), certs.end());
  }
  for (const std::string& f : config.intermediate_files) {
    SG_ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, LoadPemFile(f, "intermediate"));
    options.intermediates.insert(options.intermediates.end(), certs.begin(), certs.end());
  }
  return TrustStore::Create(options);
}

}  // namespace sg::smime
