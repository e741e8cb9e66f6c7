#include "common/dns/dns_answer.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "common/ascii.h"

namespace sg::dns {
namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct BufferFree {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;

// The negative-caching TTL of RFC 2308 section 5: min(SOA TTL, SOA MINIMUM).
uint32_t NegativeTtl(const ldns_pkt* pkt) {
  const ldns_rr_list* auth = ldns_pkt_authority(pkt);
  for (size_t i = 0; i < ldns_rr_list_rr_count(auth); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(auth, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7) continue;
    return std::min(ldns_rr_ttl(rr), ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)));
  }
  return 0;
}

Result<std::string> RdataWire(const ldns_rr* rr) {
  std::unique_ptr<ldns_buffer, BufferFree> buf(ldns_buffer_new(512));
  if (buf == nullptr || ldns_rr_rdata2buffer_wire(buf.get(), rr) != LDNS_STATUS_OK) {
    return MakeError(ErrorCode::kCorruption, "DNS answer: record data not encodable");
  }
  return std::string(reinterpret_cast<const char*>(ldns_buffer_begin(buf.get())),
                     ldns_buffer_position(buf.get()));
}

// A domain name as text: lower case, without the trailing dot.
std::string DnameText(const ldns_rdf* name) {
  char* text = ldns_rdf2str(name);
  if (text == nullptr) return "";
  std::string out = AsciiLower(text);
  free(text);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// The question's name with the answer's CNAME chain followed (RFC 1034
// 3.6.2: a resolver puts the chain into the answer section before the
// records of the asked type).
Result<std::string> CanonicalName(const ldns_pkt* pkt) {
  constexpr int kMaxCnameLinks = 16;
  const ldns_rr_list* question = ldns_pkt_question(pkt);
  if (ldns_rr_list_rr_count(question) == 0) return std::string();
  const ldns_rdf* name = ldns_rr_owner(ldns_rr_list_rr(question, 0));
  const ldns_rr_list* answer = ldns_pkt_answer(pkt);
  for (int links = 0;; ++links) {
    const ldns_rdf* target = nullptr;
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer) && target == nullptr; ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
          ldns_dname_compare(ldns_rr_owner(rr), name) == 0) {
        target = ldns_rr_rdf(rr, 0);
      }
    }
    if (target == nullptr) break;
    if (links == kMaxCnameLinks) {
      return MakeError(ErrorCode::kCorruption, "DNS answer: a CNAME chain longer than " +
                                                   std::to_string(kMaxCnameLinks) + " links");
    }
    name = target;
  }
  return DnameText(name);
}

}  // namespace

Result<std::string> BuildAuthenticatedQuery(const std::string& name, uint16_t qtype) {
  ldns_rdf* dname = ldns_dname_new_frm_str(name.c_str());
  if (dname == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "DNS query: '" + name + "' is no domain name");
  }
  PktPtr pkt(
      ldns_pkt_query_new(dname, static_cast<ldns_rr_type>(qtype), LDNS_RR_CLASS_IN, LDNS_RD));
  if (pkt == nullptr) return MakeError(ErrorCode::kInternal, "DNS query: out of memory");
  ldns_pkt_set_ad(pkt.get(), true);
  ldns_pkt_set_edns_udp_size(pkt.get(), kEdnsUdpSize);
  ldns_pkt_set_edns_do(pkt.get(), true);
  uint8_t* wire = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK || wire == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "DNS query: '" + name + "' not encodable");
  }
  std::string out(reinterpret_cast<const char*>(wire), size);
  free(wire);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
  return out;
}

Result<ParsedAnswer> ParseAuthenticatedAnswer(std::string_view wire, uint16_t qtype) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reinterpret_cast<const uint8_t*>(wire.data()), wire.size()) !=
      LDNS_STATUS_OK) {
    return MakeError(ErrorCode::kCorruption, "DNS answer: not a DNS message");
  }
  PktPtr pkt(raw);
  ParsedAnswer out;
  out.ad = ldns_pkt_ad(pkt.get());
  SG_ASSIGN_OR_RETURN(out.canonical_name, CanonicalName(pkt.get()));
  const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt.get());
  if (rcode == LDNS_RCODE_NXDOMAIN) {
    out.name_exists = false;
    out.ttl = NegativeTtl(pkt.get());
    return out;
  }
  if (rcode != LDNS_RCODE_NOERROR) {
    return MakeError(ErrorCode::kUnavailable,
                     "DNS answer: RCODE " + std::to_string(static_cast<int>(rcode)) +
                         " (a validating resolver answers SERVFAIL for a bogus record set)");
  }
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  uint32_t ttl = UINT32_MAX;
  for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(answer, i);
    if (ldns_rr_get_type(rr) != static_cast<ldns_rr_type>(qtype)) continue;
    SG_ASSIGN_OR_RETURN(std::string rdata, RdataWire(rr));
    out.rdata.push_back(std::move(rdata));
    ttl = std::min(ttl, ldns_rr_ttl(rr));
  }
  out.ttl = out.rdata.empty() ? NegativeTtl(pkt.get()) : ttl;
  return out;
}

}  // namespace sg::dns
