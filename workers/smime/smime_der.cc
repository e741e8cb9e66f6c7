#include "workers/smime/smime_der.h"

#include <openssl/objects.h>

#include <cstddef>

#include "common/mail/der.h"

namespace sg::smime::internal {

namespace {

constexpr int kMaxDepth = 32;  // nesting of indefinite lengths we follow

std::optional<Tlv> ReadTlvAt(std::string_view in, int depth) {
  if (in.size() < 2 || depth > kMaxDepth) return std::nullopt;
  auto tag = static_cast<unsigned char>(in[0]);
  if ((tag & 0x1F) == 0x1F) return std::nullopt;  // high tag numbers: not in these structures
  auto first = static_cast<unsigned char>(in[1]);
  if (first == 0x80) {
    // BER indefinite length (NSS writes these): constructed, children up to
    // the end-of-contents octets.
    if ((tag & 0x20) == 0) return std::nullopt;
    size_t pos = 2;
    for (;;) {
      if (in.size() - pos >= 2 && in[pos] == 0 && in[pos + 1] == 0) break;
      auto child = ReadTlvAt(in.substr(pos), depth + 1);
      if (!child) return std::nullopt;
      pos += child->whole.size();
    }
    return Tlv{tag, in.substr(0, pos + 2), in.substr(2, pos - 2)};
  }
  size_t header = 2;
  size_t len = 0;
  if (first < 0x80) {
    len = first;
  } else {
    size_t n = first & 0x7F;
    if (n == 0 || n > 4 || in.size() < 2 + n) return std::nullopt;  // absurd
    for (size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<unsigned char>(in[2 + i]);
    header += n;
  }
  if (len > in.size() - header) return std::nullopt;
  return Tlv{tag, in.substr(0, header + len), in.substr(header, len)};
}

}  // namespace

std::optional<Tlv> ReadTlv(std::string_view in) { return ReadTlvAt(in, 0); }

std::optional<std::vector<Tlv>> ReadChildren(std::string_view content) {
  std::vector<Tlv> out;
  while (!content.empty()) {
    auto t = ReadTlv(content);
    if (!t) return std::nullopt;
    out.push_back(*t);
    content.remove_prefix(t->whole.size());
  }
  return out;
}

namespace {

// The encryptedKey OCTET STRING of a RecipientInfo: the last element of a
// KeyTransRecipientInfo, or of RecipientEncryptedKey |rek| of a
// KeyAgreeRecipientInfo ([1]).
std::optional<std::string_view> EncryptedKey(const Tlv& ri, int rek) {
  auto fields = ReadChildren(ri.content);
  if (!fields || fields->empty()) return std::nullopt;
  if (ri.tag == 0x30 && rek < 0) {
    const Tlv& last = fields->back();
    if (last.tag != 0x04) return std::nullopt;
    return last.content;
  }
  if (ri.tag != 0xA1 || rek < 0) return std::nullopt;
  const Tlv& reks = fields->back();
  if (reks.tag != 0x30) return std::nullopt;
  auto list = ReadChildren(reks.content);
  if (!list || static_cast<size_t>(rek) >= list->size()) return std::nullopt;
  auto rek_fields = ReadChildren((*list)[static_cast<size_t>(rek)].content);
  if (!rek_fields || rek_fields->empty() || rek_fields->back().tag != 0x04) return std::nullopt;
  return rek_fields->back().content;
}

}  // namespace

std::optional<EnvelopedLayout> ReadEnvelopedLayout(std::string_view der) {
  auto ci = ReadTlv(der);
  if (!ci || ci->tag != 0x30) return std::nullopt;
  auto ci_fields = ReadChildren(ci->content);
  if (!ci_fields || ci_fields->size() != 2 || (*ci_fields)[1].tag != 0xA0) return std::nullopt;
  auto body = ReadTlv((*ci_fields)[1].content);
  if (!body || body->tag != 0x30) return std::nullopt;
  auto fields = ReadChildren(body->content);
  if (!fields) return std::nullopt;
  // version, [0] originatorInfo OPTIONAL, recipientInfos SET, encryptedContentInfo SEQ, ...
  size_t i = 1;
  if (i < fields->size() && (*fields)[i].tag == 0xA0) ++i;
  if (i + 1 >= fields->size() || (*fields)[i].tag != 0x31 || (*fields)[i + 1].tag != 0x30) {
    return std::nullopt;
  }
  auto ris = ReadChildren((*fields)[i].content);
  if (!ris) return std::nullopt;
  auto eci = ReadChildren((*fields)[i + 1].content);  // contentType, contentEncryptionAlgorithm
  if (!eci || eci->size() < 2 || (*eci)[1].tag != 0x30) return std::nullopt;
  static const std::string kAuthEnveloped = DerOid(NID_id_smime_ct_authEnvelopedData);
  EnvelopedLayout layout;
  layout.auth_enveloped = (*ci_fields)[0].whole == kAuthEnveloped;
  layout.recipient_infos = std::move(*ris);
  layout.content_algorithm = (*eci)[1];
  layout.trailing.assign(fields->begin() + static_cast<std::ptrdiff_t>(i + 2), fields->end());
  return layout;
}

std::optional<EnvelopedParts> ReadEnvelopedParts(std::string_view der, int ri, int rek) {
  auto layout = ReadEnvelopedLayout(der);
  if (!layout || ri < 0 || static_cast<size_t>(ri) >= layout->recipient_infos.size()) {
    return std::nullopt;
  }
  auto key = EncryptedKey(layout->recipient_infos[static_cast<size_t>(ri)], rek);
  if (!key) return std::nullopt;
  auto alg = ReadChildren(layout->content_algorithm.content);
  if (!alg || alg->empty() || alg->front().tag != 0x06) return std::nullopt;
  EnvelopedParts parts{alg->front().whole, *key, layout->content_algorithm, std::nullopt};
  if (layout->auth_enveloped) {
    for (const Tlv& t : layout->trailing) {
      if (t.tag == 0x04) {
        parts.mac = t;
        break;
      }
    }
  }
  return parts;
}

std::optional<GcmParameters> ReadGcmParameters(std::string_view params) {
  auto seq = ReadTlv(params);
  if (!seq || seq->tag != 0x30 || seq->whole.size() != params.size()) return std::nullopt;
  auto f = ReadChildren(seq->content);
  if (!f || f->empty() || f->size() > 2 || (*f)[0].tag != 0x04) return std::nullopt;
  GcmParameters p;
  p.nonce = (*f)[0].content;
  if (f->size() == 2) {
    const Tlv& icv = (*f)[1];
    if (icv.tag != 0x02) return std::nullopt;
    const bool small = icv.content.size() == 1 && static_cast<unsigned char>(icv.content[0]) < 0x80;
    p.icv_len = small ? static_cast<unsigned char>(icv.content[0]) : -1;
  }
  return p;
}

std::string DerOid(int nid) {
  const ASN1_OBJECT* obj = OBJ_nid2obj(nid);
  return mail::DerTlv(
      0x06, std::string_view(reinterpret_cast<const char*>(OBJ_get0_data(obj)), OBJ_length(obj)));
}

std::string DerOaepSha256Algorithm() {
  const std::string sha256 = mail::DerTlv(0x30, DerOid(NID_sha256));
  const std::string params =
      mail::DerTlv(0x30, mail::DerTlv(0xA0, sha256) +
                             mail::DerTlv(0xA1, mail::DerTlv(0x30, DerOid(NID_mgf1) + sha256)));
  return mail::DerTlv(0x30, DerOid(NID_rsaesOaep) + params);
}

std::string DerIssuerAndSerial(const X509* cert) {
  unsigned char* name = nullptr;
  unsigned char* serial = nullptr;
  int name_len = i2d_X509_NAME(X509_get_issuer_name(cert), &name);
  int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
  std::string out;
  if (name_len > 0 && serial_len > 0) {
    std::string content(reinterpret_cast<const char*>(name), static_cast<size_t>(name_len));
    content.append(reinterpret_cast<const char*>(serial), static_cast<size_t>(serial_len));
    out = mail::DerTlv(0x30, content);
  }
  OPENSSL_free(name);
  OPENSSL_free(serial);
  return out;
}

}  // namespace sg::smime::internal
