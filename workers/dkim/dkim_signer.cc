#include "workers/dkim/dkim_signer.h"

// dkim.h is C99: its prototypes use _Bool, which C++ spells bool.
#define _Bool bool  // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
#include <opendkim/dkim.h>
#undef _Bool

#include <array>
#include <atomic>
#include <cstring>

#include "workers/dkim/dkim_key_cache.h"

namespace sg::dkim {
namespace {

// The signed header fields (docs/dkim.md), NULL-terminated for the library.
constexpr std::array<const char*, 9> kSignHeaders = {
    "from", "to", "cc", "subject", "date", "message-id", "mime-version", "content-type", nullptr};
constexpr std::array<const char*, 2> kOversignHeaders = {"from", nullptr};
constexpr size_t kHeaderNameLen = sizeof("DKIM-Signature: ") - 1;

struct HandleFree {
  void operator()(DKIM* d) const { dkim_free(d); }
};
using Handle = std::unique_ptr<DKIM, HandleFree>;

std::string Where(const keyservice::DkimSigningKey& key) {
  return "DKIM key " + key.selector + " of " + key.domain;
}

Error LibError(const keyservice::DkimSigningKey& key, const char* step, DKIM_STAT st, DKIM* d) {
  std::string detail = dkim_getresultstr(st);
  if (d != nullptr) {
    const char* e = dkim_geterror(d);
    if (e != nullptr && *e != '\0') detail += std::string(": ") + e;
  }
  return MakeError(ErrorCode::kInternal, Where(key) + ": libopendkim " + step + ": " + detail);
}

}  // namespace

struct DkimSigner::Lib {
  explicit Lib(size_t key_cache_entries) : keys(key_cache_entries) {}
  DKIM_LIB* lib = nullptr;
  std::atomic<uint64_t> job{0};
  DkimKeyCache keys;
  ~Lib() {
    if (lib != nullptr) dkim_close(lib);
  }
};

DkimSigner::DkimSigner(std::unique_ptr<Lib> lib) : lib_(std::move(lib)) {}
DkimSigner::~DkimSigner() = default;

Result<std::unique_ptr<DkimSigner>> DkimSigner::Create(size_t key_cache_entries) {
  auto lib = std::make_unique<Lib>(key_cache_entries);
  lib->lib = dkim_init(nullptr, nullptr);
  if (lib->lib == nullptr) return MakeError(ErrorCode::kInternal, "libopendkim: dkim_init failed");
  // The header lists are (const char**) arrays, passed with the size of
  // the pointer (the library copies them); the flags as an unsigned int.
  auto sign = kSignHeaders;
  auto over = kOversignHeaders;
  const char** sign_list = sign.data();
  const char** over_list = over.data();
  unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
  if (dkim_options(lib->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign_list, sizeof(sign_list)) !=
          DKIM_STAT_OK ||
      dkim_options(lib->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over_list,
                   sizeof(over_list)) != DKIM_STAT_OK ||
      dkim_options(lib->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) !=
          DKIM_STAT_OK) {
    return MakeError(ErrorCode::kInternal, "libopendkim: setting the signing options failed");
  }
  return std::unique_ptr<DkimSigner>(new DkimSigner(std::move(lib)));
}

size_t DkimSigner::KeysPrepared() const { return lib_->keys.conversions(); }

Result<std::string> DkimSigner::Sign(const keyservice::DkimSigningKey& key,
                                     std::string_view message) const {
  const std::shared_ptr<const PemKey> pem = lib_->keys.Get(key);
  if (!pem->ok()) {
    return MakeError(ErrorCode::kInvalidArgument, Where(key) + ": the private key does not load");
  }
  const dkim_alg_t alg = key.algorithm == "ed25519" ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
  const std::string job = "sg" + std::to_string(lib_->job.fetch_add(1));
  DKIM_STAT st = DKIM_STAT_OK;
  Handle d(dkim_sign(lib_->lib, reinterpret_cast<const unsigned char*>(job.c_str()), nullptr,
                     reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(pem->c_str())),
                     reinterpret_cast<const unsigned char*>(key.selector.c_str()),
                     reinterpret_cast<const unsigned char*>(key.domain.c_str()), DKIM_CANON_RELAXED,
                     DKIM_CANON_RELAXED, alg, -1, &st));
  if (!d) return LibError(key, "dkim_sign", st, nullptr);
  // The whole message in one chunk (the library splits headers and body).
  std::string copy(message);
  st = dkim_chunk(d.get(), reinterpret_cast<unsigned char*>(copy.data()), copy.size());
  if (st == DKIM_STAT_OK) st = dkim_chunk(d.get(), nullptr, 0);
  if (st != DKIM_STAT_OK) return LibError(key, "dkim_chunk", st, d.get());
  st = dkim_eom(d.get(), nullptr);
  if (st != DKIM_STAT_OK) return LibError(key, "dkim_eom", st, d.get());
  unsigned char* value = nullptr;
  size_t len = 0;
  st = dkim_getsighdr_d(d.get(), kHeaderNameLen, &value, &len);
  if (st != DKIM_STAT_OK || value == nullptr) return LibError(key, "dkim_getsighdr", st, d.get());
  const bool crlf = message.find("\r\n") != std::string_view::npos;
  const std::string eol = crlf ? "\r\n" : "\n";
  std::string header = "DKIM-Signature: ";
  for (size_t i = 0; i < len; ++i) {
    char c = static_cast<char>(value[i]);
    if (c == '\r') continue;
    if (c == '\n') {
      header += eol;
    } else {
      header += c;
    }
  }
  header += eol;
  return header;
}

}  // namespace sg::dkim
