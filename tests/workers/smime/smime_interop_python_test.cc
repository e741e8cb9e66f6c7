// Python `cryptography` (Debian 12: version 38, which can only sign) signs;
// we verify. Uses /usr/bin/python3, which has the module.
#include <gtest/gtest.h>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr char kScript[] = R"PY(
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
cert_path, key_path, chain_path, out_path, detached = sys.argv[1:6]
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
chain = x509.load_pem_x509_certificate(open(chain_path, "rb").read())
data = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nsigned by python cryptography\r\n"
# Detached: the library's own S/MIME output. Opaque: DER, because version 38
# writes opaque S/MIME with an empty eContent that no implementation accepts.
if detached == "1":
    out = (pkcs7.PKCS7SignatureBuilder().set_data(data)
           .add_signer(cert, key, hashes.SHA256()).add_certificate(chain)
           .sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature]))
else:
    out = (pkcs7.PKCS7SignatureBuilder().set_data(data)
           .add_signer(cert, key, hashes.SHA256()).add_certificate(chain)
           .sign(serialization.Encoding.DER, []))
open(out_path, "wb").write(out)
)PY";

TEST(PythonInterop, PythonSignaturesVerifyHere) {
  if (RunTool("/usr/bin/python3 -c 'import cryptography'") != 0)
    FAIL() << "no python3-cryptography (scripts/setup-deps.sh installs it)";
  auto engine = SmimeEngine::Create().value();
  const auto& pki = GetTestPki();
  std::string dir = MakeTempDir("sgpy");
  WriteFile(dir + "/sign.py", kScript);
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    for (const char* detached : {"1", "0"}) {
      std::string log;
      ASSERT_EQ(
          RunTool("/usr/bin/python3 " + dir + "/sign.py " + id->cert_path + " " + id->key_path +
                      " " + pki.chain_path + " " + dir + "/out.eml " + detached,
                  &log),
          0)
          << log;
      std::string out = ReadFile(dir + "/out.eml");
      std::string msg = std::string(detached) == "1"
                            ? "From: " + id->email + "\r\nSubject: py\r\nDate: " + DateNow() + "\r\n" + out
                            : WrapP7m(id->email, out, "signed-data");
      auto v = engine->Verify(msg, pki.Trust(), std::time(nullptr));
      ASSERT_TRUE(v.ok());
      EXPECT_EQ(v->status, VerifyStatus::kGood)
          << id->name << " detached=" << detached << ": " << v->detail;
      EXPECT_EQ(v->opaque, std::string(detached) == "0");
      EXPECT_NE((v->opaque ? v->content : msg).find("signed by python cryptography"),
                std::string::npos);
    }
  }
  RemoveTree(dir);
}

}  // namespace
}  // namespace sg::smime
