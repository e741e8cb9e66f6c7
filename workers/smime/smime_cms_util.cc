#include "workers/smime/smime_cms_util.h"

#include <openssl/buffer.h>
#include <openssl/rand.h>

#include <algorithm>

#include "workers/smime/smime_handles.h"

namespace sg::smime::internal {

BioPtr ReadBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

BioPtr WriteBio() { return BioPtr(BIO_new(BIO_s_mem())); }

BioPtr WriteBio(size_t reserve) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return bio;
  BUF_MEM* bm = BUF_MEM_new();
  if (bm == nullptr) return bio;  // the plain BIO still works, just slower
  if (reserve > 0 && BUF_MEM_grow(bm, reserve) == 0) {
    BUF_MEM_free(bm);
    return bio;
  }
  bm->length = 0;  // capacity kept (bm->max), contents empty
  BIO_set_mem_buf(bio.get(), bm, BIO_CLOSE);
  return bio;
}

std::string_view BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int): OpenSSL API
  if (len <= 0 || data == nullptr) return {};
  return std::string_view(data, static_cast<size_t>(len));
}

Result<std::string> CmsToDer(CMS_ContentInfo* cms) {
  unsigned char* buf = nullptr;
  int len = i2d_CMS_ContentInfo(cms, &buf);
  if (len <= 0)
    return MakeError(ErrorCode::kInternal, "CMS: cannot encode (" + TakeOpenSslError() + ")");
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return der;
}

Result<DerBuffer> CmsToDerBuffer(CMS_ContentInfo* cms) {
  unsigned char* buf = nullptr;
  int len = i2d_CMS_ContentInfo(cms, &buf);
  if (len <= 0)
    return MakeError(ErrorCode::kInternal, "CMS: cannot encode (" + TakeOpenSslError() + ")");
  DerBuffer der;
  der.data.reset(buf);
  der.size = static_cast<size_t>(len);
  return der;
}

Status CmsFinalEmbedded(CMS_ContentInfo* cms, std::span<const std::string_view> pieces) {
  size_t total = 0;
  for (std::string_view piece : pieces) total += piece.size();
  if (total > static_cast<size_t>(INT32_MAX) - 4096) {
    return MakeError(ErrorCode::kResourceExhausted, "CMS: content too large");
  }
  // Ciphertext = content + at most one padding block; the GCM tag is kept
  // apart. CMS_dataFinal finds this memory BIO in the chain and hands its
  // buffer to the encryptedContent OCTET STRING (marking the BIO read-only,
  // so freeing the BIO leaves the buffer alone), exactly as with the BIO
  // CMS_final would have made itself.
  BioPtr sink = WriteBio(total + 64);
  if (!sink) return MakeError(ErrorCode::kInternal, "CMS: out of memory");
  BIO* chain = CMS_dataInit(cms, sink.get());
  if (chain == nullptr) {
    return MakeError(ErrorCode::kInternal,
                     "CMS: cannot start encryption (" + TakeOpenSslError() + ")");
  }
  bool ok = true;
  for (std::string_view piece : pieces) {
    if (!ok || piece.empty()) continue;
    ok = BIO_write(chain, piece.data(), static_cast<int>(piece.size())) ==
         static_cast<int>(piece.size());
  }
  ok = ok && BIO_flush(chain) == 1;
  ok = ok && CMS_dataFinal(cms, chain) == 1;
  // Free the cipher BIO(s) in front of |sink|; |sink| is freed by its owner.
  while (chain != nullptr && chain != sink.get()) {
    BIO* next = BIO_pop(chain);
    BIO_free(chain);
    chain = next;
  }
  if (!ok) {
    return MakeError(ErrorCode::kInternal, "CMS: encryption failed (" + TakeOpenSslError() + ")");
  }
  return OkStatus();
}

Result<CmsPtr> CmsFromDer(std::string_view der) {
  if (der.empty()) return MakeError(ErrorCode::kCorruption, "CMS: empty structure");
  if (der.size() > static_cast<size_t>(INT32_MAX)) {
    return MakeError(ErrorCode::kResourceExhausted, "CMS: structure too large");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CMS_ContentInfo* cms = d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size()));  // NOLINT
  if (cms == nullptr) {
    return MakeError(ErrorCode::kCorruption,
                     "CMS: cannot parse (truncated or corrupt): " + TakeOpenSslError());
  }
  return CmsPtr(cms);
}

std::string RandomBoundary(std::string_view content) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (;;) {
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) std::abort();  // no randomness: cannot continue safely
    std::string b = "----=_sg_";
    for (unsigned char c : rnd) {
      b.push_back(kHex[c >> 4]);
      b.push_back(kHex[c & 15]);
    }
    if (content.find(b) == std::string_view::npos) return b;
  }
}

void AppendOuterFields(const MimeEntity& top, std::string& out) {
  for (const HeaderField& f : top.fields) {
    if (IsContentField(f.name) || NameIs(f.name, "MIME-Version")) continue;
    out += ToCrlf(f.raw);
    if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  }
}

Result<std::string> JoinOuterAndEntity(const MimeEntity& top, std::string_view entity,
                                       const MimeLimits& limits) {
  SG_ASSIGN_OR_RETURN(MimeEntity inner, ParseEntity(entity, limits));
  std::string out;
  out.reserve(entity.size() + top.header_block.size() + 64);
  AppendOuterFields(top, out);
  out += "MIME-Version: 1.0\r\n";
  for (const HeaderField& f : inner.fields) {
    if (NameIs(f.name, "MIME-Version")) continue;
    if (!IsContentField(f.name) && FindField(top, f.name) != nullptr) continue;
    out += ToCrlf(f.raw);
    if (out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  }
  if (inner.has_separator) {
    size_t rest = inner.header_block.size();  // the blank line and the body, verbatim
    std::string_view tail = entity.substr(rest);
    size_t nl = tail.find('\n');
    out += "\r\n";
    out.append(tail.substr(nl + 1));
  } else {
    out += "\r\n";
    out.append(inner.body);
  }
  return out;
}

Result<std::string> DecodeCmsBody(const MimeEntity& part) {
  std::string cte = EntityTransferEncoding(part);
  if (cte == "base64") {
    auto decoded = Base64Decode(part.body);
    if (!decoded.ok()) {
      return MakeError(ErrorCode::kCorruption, "S/MIME part: " + decoded.error().message);
    }
    return std::move(decoded).value();
  }
  if (cte == "binary" || cte == "7bit" || cte == "8bit") return std::string(part.body);
  return MakeError(ErrorCode::kUnsupported,
                   "S/MIME part: unsupported Content-Transfer-Encoding \"" + cte + "\"");
}

}  // namespace sg::smime::internal
