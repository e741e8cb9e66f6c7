#include "keyservice/mozilla_roots.h"

#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11x.h>

#include <array>
#include <memory>

namespace sg::keyservice {
namespace {

// The module, loaded and initialised; finalised and released on scope exit.
class Module {
 public:
  static Result<std::unique_ptr<Module>> Load(const std::string& path) {
    CK_FUNCTION_LIST* m = p11_kit_module_load(path.c_str(), 0);
    if (m == nullptr) {
      const char* why = p11_kit_message();
      return MakeError(ErrorCode::kUnavailable,
                       "keyservice.trust.mozilla_module: " + path + " does not load (" +
                           (why != nullptr ? why : "unknown reason") +
                           "); install Debian's libnss3 or set the path");
    }
    CK_RV rv = p11_kit_module_initialize(m);
    if (rv != CKR_OK) {
      p11_kit_module_release(m);
      return MakeError(ErrorCode::kUnavailable, path + ": C_Initialize failed: " +
                                                    p11_kit_strerror(rv));
    }
    return std::unique_ptr<Module>(new Module(m));
  }
  ~Module() {
    p11_kit_module_finalize(m_);
    p11_kit_module_release(m_);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  CK_FUNCTION_LIST* f() const { return m_; }

 private:
  explicit Module(CK_FUNCTION_LIST* m) : m_(m) {}
  CK_FUNCTION_LIST* m_;
};

// One attribute of an object as bytes; nullopt-like empty + false when absent.
bool GetBytes(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
              CK_ATTRIBUTE_TYPE type, std::string& out) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return false;
  }
  out.assign(a.ulValueLen, '\0');
  a.pValue = out.data();
  return f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK;
}

bool GetUlong(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
              CK_ATTRIBUTE_TYPE type, CK_ULONG& out) {
  CK_ATTRIBUTE a{type, &out, sizeof(out)};
  return f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && a.ulValueLen == sizeof(out);
}

std::vector<CK_OBJECT_HANDLE> Find(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s,
                                   std::vector<CK_ATTRIBUTE> tmpl) {
  std::vector<CK_OBJECT_HANDLE> out;
  if (f->C_FindObjectsInit(s, tmpl.data(), tmpl.size()) != CKR_OK) return out;
  std::array<CK_OBJECT_HANDLE, 64> batch{};
  CK_ULONG n = 0;
  while (f->C_FindObjects(s, batch.data(), batch.size(), &n) == CKR_OK && n > 0) {
    out.insert(out.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
  }
  f->C_FindObjectsFinal(s);
  return out;
}

std::string Sha1(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha1(), nullptr);
  return {reinterpret_cast<const char*>(md.data()), len};
}

struct Root {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  std::string der;
};

// The certificate a trust object is about, checked against its SHA-1.
Result<Root> CertificateFor(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE trust) {
  std::string issuer, serial, sha1;
  if (!GetBytes(f, s, trust, CKA_ISSUER, issuer) ||
      !GetBytes(f, s, trust, CKA_SERIAL_NUMBER, serial)) {
    return MakeError(ErrorCode::kCorruption, "a trust object has no issuer or serial");
  }
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  auto certs = Find(f, s, {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_ISSUER, issuer.data(), issuer.size()},
                           {CKA_SERIAL_NUMBER, serial.data(), serial.size()}});
  Root root;
  if (certs.empty() || !GetBytes(f, s, certs[0], CKA_VALUE, root.der)) {
    return MakeError(ErrorCode::kCorruption, "a trust object names no certificate of the module");
  }
  if (GetBytes(f, s, trust, CKA_CERT_SHA1_HASH, sha1) && sha1 != Sha1(root.der)) {
    return MakeError(ErrorCode::kCorruption, "a trust object's SHA-1 does not match its certificate");
  }
  root.handle = certs[0];
  return root;
}

// True when the root certificate has an email distrust-after date (NSS
// stores a CK_BBOOL false when it has none).
bool HasEmailDistrustAfter(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE cert) {
  std::string v;
  return GetBytes(f, s, cert, CKA_NSS_EMAIL_DISTRUST_AFTER, v) && v.size() > 1;
}

Result<std::vector<std::string>> EmailRoots(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s) {
  CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
  std::vector<std::string> out;
  for (CK_OBJECT_HANDLE t : Find(f, s, {{CKA_CLASS, &cls, sizeof(cls)}})) {
    CK_ULONG email = 0;
    if (!GetUlong(f, s, t, CKA_TRUST_EMAIL_PROTECTION, email) ||
        email != CKT_NSS_TRUSTED_DELEGATOR) {
      continue;
    }
    SG_ASSIGN_OR_RETURN(Root root, CertificateFor(f, s, t));
    if (HasEmailDistrustAfter(f, s, root.handle)) continue;
    out.push_back(std::move(root.der));
  }
  return out;
}

}  // namespace

std::string DefaultMozillaModule() {
#ifdef SG_NSSCKBI_PATH
  return SG_NSSCKBI_PATH;
#else
  return "";
#endif
}

Result<RootBundle> ExtractMozillaEmailRoots(const std::string& module_path, int64_t now_unix) {
  if (module_path.empty()) {
    return MakeError(ErrorCode::kUnavailable,
                     "keyservice.trust.mozilla_module: no libnssckbi.so known; install Debian's "
                     "libnss3 or set the path");
  }
  SG_ASSIGN_OR_RETURN(auto module, Module::Load(module_path));
  CK_FUNCTION_LIST* f = module->f();
  CK_INFO info{};
  f->C_GetInfo(&info);
  CK_ULONG n = 0;
  std::vector<CK_SLOT_ID> slots;
  if (f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK && n > 0) {
    slots.resize(n);
    if (f->C_GetSlotList(CK_TRUE, slots.data(), &n) != CKR_OK) slots.clear();
    slots.resize(slots.empty() ? 0 : n);
  }
  RootBundle bundle;
  for (CK_SLOT_ID slot : slots) {
    CK_SESSION_HANDLE s = 0;
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK) continue;
    auto roots = EmailRoots(f, s);
    f->C_CloseSession(s);
    if (!roots.ok()) return MakeError(roots.error().code, module_path + ": " + roots.error().message);
    bundle.der.insert(bundle.der.end(), roots->begin(), roots->end());
  }
  if (bundle.der.empty()) {
    return MakeError(ErrorCode::kCorruption,
                     module_path + ": no root trusted for email (is it NSS's libnssckbi.so?)");
  }
  // The module's library version is the version of the root list
  // (NSS_BUILTINS_LIBRARY_VERSION, e.g. 2.60 in NSS 3.87).
  bundle.origin = "Mozilla root store (NSS builtins " + std::to_string(info.libraryVersion.major) +
                  "." + std::to_string(info.libraryVersion.minor) + ", " + module_path + ")";
  bundle.extracted_at = now_unix;
  return bundle;
}

}  // namespace sg::keyservice
