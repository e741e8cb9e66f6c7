#include "workers/smime/smime_cert_cache.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <unordered_map>

#include "common/mail/der.h"
#include "workers/smime/smime_der.h"

namespace sg::smime::internal {
namespace {

constexpr size_t kCacheEntries = 2048;

std::string Wrap(unsigned char tag, std::string_view content) { return mail::DerTlv(tag, content); }

}  // namespace

std::optional<std::string> StripCertificates(std::string_view der,
                                             std::vector<std::string_view>* certs) {
  auto ci = ReadTlv(der);
  if (!ci || ci->tag != 0x30 || ci->whole.size() != der.size()) return std::nullopt;
  auto oid = ReadTlv(ci->content);
  if (!oid || oid->tag != 0x06) return std::nullopt;
  static constexpr std::string_view kSignedData("\x2A\x86\x48\x86\xF7\x0D\x01\x07\x02", 9);
  if (oid->content != kSignedData) return std::nullopt;
  auto explicit0 = ReadTlv(ci->content.substr(oid->whole.size()));
  if (!explicit0 || explicit0->tag != 0xA0) return std::nullopt;
  auto sd = ReadTlv(explicit0->content);
  if (!sd || sd->tag != 0x30) return std::nullopt;

  std::string kept;
  kept.reserve(sd->content.size());
  std::vector<std::string_view> found;
  bool stripped = false;
  for (std::string_view rest = sd->content; !rest.empty();) {
    auto el = ReadTlv(rest);
    if (!el) return std::nullopt;
    if (el->tag == 0xA0 && !stripped) {  // certificates [0] IMPLICIT CertificateSet
      for (std::string_view c = el->content; !c.empty();) {
        auto cert = ReadTlv(c);
        if (!cert) return std::nullopt;
        if (cert->tag == 0x30)
          found.push_back(cert->whole);  // other choices (attribute certs) are dropped
        c.remove_prefix(cert->whole.size());
      }
      stripped = true;
    } else {
      kept.append(el->whole);
    }
    rest.remove_prefix(el->whole.size());
  }
  if (!stripped) return std::nullopt;
  *certs = std::move(found);
  return Wrap(0x30, std::string(oid->whole) + Wrap(0xA0, Wrap(0x30, kept)));
}

X509Ptr CachedCertificate(std::string_view der) {
  thread_local std::unordered_map<std::string, X509Ptr> cache;
  auto it = cache.find(std::string(der));
  if (it != cache.end()) return it->second;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));  // NOLINT(google-runtime-int)
  if (cert == nullptr || p != reinterpret_cast<const unsigned char*>(der.data() + der.size())) {
    X509_free(cert);
    ERR_clear_error();
    return nullptr;
  }
  X509Ptr handle = AdoptX509(cert);
  if (cache.size() >= kCacheEntries) cache.clear();
  cache.emplace(std::string(der), handle);
  return handle;
}

}  // namespace sg::smime::internal
