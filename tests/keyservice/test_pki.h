// Test helpers: a partner PKI built with OpenSSL (CAs and mailbox
// certificates with chosen validity, purposes and names) and a keyservice
// in a temporary directory.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "keyservice/credentials_files.h"
#include "keyservice/key_admin.h"
#include "keyservice/keyservice_config.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice::testing {

struct TestCa {
  X509Ptr cert;
  PkeyPtr key;
  std::string der;
};

struct LeafOptions {
  std::string email;
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::string eku = "emailProtection";  // "" for none
  std::string key_usage = "critical,digitalSignature,keyEncipherment";
};

TestCa MakeCa(const std::string& name, std::chrono::system_clock::time_point now);
// Returns the DER certificate; *key_out receives the key when not null.
std::string MakeLeaf(const TestCa& ca, const LeafOptions& options, PkeyPtr* key_out = nullptr);
// A PKCS#12 of key + cert (+ ca) via `openssl pkcs12 -export`, legacy or modern.
std::string MakePkcs12(const std::string& cert_der, EVP_PKEY* key, const std::string& password,
                       bool legacy, const std::filesystem::path& dir);

// A fresh directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A config for a keyservice in dir with a KEK file (created) and fast keys,
// listening on a free loopback port; the local admin's credentials go to
// dir/credentials/admin.
KeyServiceConfig TestConfig(const std::filesystem::path& dir);

// Client credentials with `role` from the keyservice's internal CA, in
// memory (key generated here, certificate issued through `admin`).
ClientCredentials RoleCredentials(KeyAdmin& admin, const std::string& role,
                                  const std::string& name = "test client");
// The local admin's credentials the keyservice wrote (config.admin_credentials).
ClientCredentials AdminCredentials(const KeyServiceConfig& config);

std::string WriteFile(const std::filesystem::path& path, const std::string& data);

// A shell command's exit code and its stdout and stderr (2>&1 appended).
struct CommandOutput {
  int rc = -1;
  std::string out;
};
CommandOutput RunCommand(const std::string& command);

}  // namespace sg::keyservice::testing
