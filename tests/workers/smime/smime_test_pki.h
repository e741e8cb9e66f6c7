// Test PKI generated at test time with the OpenSSL API, plus helpers to run
// external tools (openssl, gpgsm, cmsutil, python) with a bounded runtime.
//
// The PKI is generated once per test process (RSA key generation dominates)
// and written as PEM files into a private temp directory that is removed at
// exit. Nothing here is used outside the tests.
#pragma once

#include <string>
#include <vector>

#include "workers/smime/smime_engine.h"
#include "workers/smime/smime_handles.h"

namespace sg::smime::testing {

struct TestIdentity {
  std::string name;   // file stem in TestPki::dir: <name>.pem, <name>.key
  std::string email;  // empty for CAs
  PkeyPtr key;
  X509Ptr cert;
  std::string cert_pem;
  std::string key_pem;  // unencrypted PKCS#8: test material only
  std::string cert_path;
  std::string key_path;
  SignerIdentity Signer() const;  // with the intermediate as chain
  KeyPair Pair() const { return KeyPair{key, cert}; }
};

struct TestPki {
  std::string dir;            // shared, read-only: tests write their own temp dirs
  TestIdentity root;          // RSA root CA
  TestIdentity intermediate;  // RSA intermediate, signs the users
  TestIdentity alice;         // RSA-2048 user alice@example.com
  TestIdentity bob;           // EC P-256 user bob@example.com
  TestIdentity carol;         // RSA-2048 user carol@example.org
  TestIdentity expired;       // RSA user whose certificate expired a year ago
  TestIdentity server;        // RSA cert with serverAuth EKU only (wrong purpose)
  TestIdentity rogue_root;    // an untrusted root
  TestIdentity mallory;       // user under rogue_root
  std::string chain_path;     // intermediate PEM (for -certfile)
  TrustStore Trust() const;   // root as anchor
};

const TestPki& GetTestPki();

// Runs |command| through /bin/sh with `timeout`, capturing stdout+stderr.
// Returns the exit status (124 on timeout).
int RunTool(const std::string& command, std::string* output = nullptr);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);
std::string MakeTempDir(const std::string& prefix);  // short path under /tmp
void RemoveTree(const std::string& path);

// "Sun, 06 Dec 2026 02:21:07 +0000": the current time as a Date header value
// (a signature's signingTime must be within an hour of Date, as Thunderbird checks).
std::string DateNow();

// A plain test message with headers From/To/Subject/Date (now) and a text body.
std::string SampleMessage(const std::string& from = "alice@example.com",
                          const std::string& body = "Hello,\r\nthis is a test.\r\n");

}  // namespace sg::smime::testing

namespace sg::smime::testing {

// Pieces of S/MIME messages for tools that work on raw CMS (gpgsm, cmsutil).
struct DetachedParts {
  std::string content;  // the signed entity bytes, exact
  std::string der;      // the CMS SignedData
};
DetachedParts ExtractDetached(const std::string& message);
std::string ExtractP7m(const std::string& message);  // DER of an application/pkcs7-mime body
// Builds a complete message from raw CMS produced by another implementation.
std::string WrapDetached(const std::string& from, const std::string& content,
                         const std::string& der);
std::string WrapP7m(const std::string& from, const std::string& der, const std::string& smime_type);
// "Content-Type: text/plain...\r\n\r\n<text>" — an entity to hand to other tools.
std::string SampleEntity(const std::string& text);
// openssl pkcs12 file gpgsm and NSS can import (PBE-SHA1-3DES, SHA-1 MAC).
std::string MakeLegacyP12(const TestIdentity& id, const std::string& dir, const std::string& pass);

}  // namespace sg::smime::testing
