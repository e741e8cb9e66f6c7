// Fuzz target for DSN building (common/mail/dsn.h): the original message, the
// envelope and the remote server's diagnostic are all hostile input.
//
// Input: control lines, a NUL byte, then the original message. Each control
// line starts with a letter:
//   F<mail from>   E<envid>   U<SMTPUTF8: any value>
//   I<message id>  (made by ingress: only [A-Za-z0-9.-] kept)
//   T<f: RET=FULL, h: RET=HDRS>   O<i: inbound, o: outbound>
//   S<status>  D<diagnostic>  M<remote MTA>   (for the recipients after them)
//   R<address>[\t<NOTIFY letters N S F D>[\t<ORCPT>]]   a failed recipient
// Properties beyond "no crash":
//   - the DSN goes from the null sender to the original sender only, with
//     NOTIFY=NEVER (a DSN is never bounced);
//   - it is a multipart/report with exactly three parts whose delimiter
//     appears nowhere else, one Final-Recipient per failed recipient;
//   - every line the DSN adds is at most 998 octets and CRLF-terminated, and
//     the whole message is CRLF-clean when the original was;
//   - without RET=FULL, and for mail from the internet whatever RET says,
//     the returned part is the original's header section only;
//   - building it again later gives the same message id (duplicate suppression);
//   - the DSN record parses again (it is queued like any message).
#include <google/protobuf/stubs/logging.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/dsn.h"
#include "tests/support/fuzz_check.h"

namespace {

namespace v1 = smimegate::v1;
using sg::mail::FailedRecipient;

bool CrlfClean(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
  }
  return true;
}

size_t Count(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// Message ids are made by ingress, not by the sender: letters, digits, '.' and '-'.
std::string GatewayId(const std::string& v) {
  std::string id;
  for (char c : v) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') id += c;
  }
  return id.empty() ? "MSG1" : id;
}

struct Parsed {
  v1::MessageRecord original;
  std::vector<FailedRecipient> failed;
};

void ParseRecipient(std::string_view v, FailedRecipient& f) {
  size_t tab = v.find('\t');
  f.recipient.set_address(std::string(v.substr(0, tab)));
  if (tab == std::string_view::npos) return;
  std::string_view rest = v.substr(tab + 1);
  size_t tab2 = rest.find('\t');
  f.recipient.set_notify_given(true);
  auto* n = f.recipient.mutable_notify();
  for (char c : rest.substr(0, tab2)) {
    n->set_never(n->never() || c == 'N');
    n->set_success(n->success() || c == 'S');
    n->set_failure(n->failure() || c == 'F');
    n->set_delay(n->delay() || c == 'D');
  }
  if (tab2 != std::string_view::npos) f.recipient.set_orcpt(std::string(rest.substr(tab2 + 1)));
}

Parsed ParseInput(std::string_view in) {
  Parsed p;
  size_t nul = in.find('\0');
  std::string_view control = in.substr(0, nul);
  p.original.set_message(nul == std::string_view::npos ? "" : std::string(in.substr(nul + 1)));
  auto* env = p.original.mutable_envelope();
  env->set_message_id("MSG1");
  FailedRecipient proto;  // status, diagnostic and MTA for the next recipients
  proto.status = "5.0.0";
  while (!control.empty()) {
    size_t nl = control.find('\n');
    std::string_view line = control.substr(0, nl);
    control = nl == std::string_view::npos ? std::string_view() : control.substr(nl + 1);
    if (line.empty()) continue;
    std::string v(line.substr(1));
    switch (line[0]) {
      case 'F':
        env->set_mail_from(v);
        break;
      case 'I':
        env->set_message_id(GatewayId(v));
        break;
      case 'E':
        env->set_dsn_envid(v);
        break;
      case 'T':
        env->set_dsn_ret(v == "f" ? v1::DSN_RET_FULL : v1::DSN_RET_HDRS);
        break;
      case 'O':
        env->set_direction(v == "i" ? v1::DIRECTION_INBOUND : v1::DIRECTION_OUTBOUND);
        break;
      case 'U':
        env->set_smtputf8(true);
        break;
      case 'S':
        proto.status = v;
        break;
      case 'D':
        proto.diagnostic = v;
        break;
      case 'M':
        proto.remote_mta = v;
        break;
      case 'R': {
        FailedRecipient f = proto;
        ParseRecipient(line.substr(1), f);
        p.failed.push_back(std::move(f));
        break;
      }
      default:
        break;
    }
  }
  return p;
}

// The value of the boundary parameter of the DSN's own Content-Type (not
// the first "boundary=" of the header: the To field quotes the sender's
// address, which may hold anything a quoted local part can).
std::string Boundary(const std::string& m) {
  size_t p = m.find("\r\nContent-Type: multipart/report;");
  SG_FUZZ_CHECK(p != std::string::npos);
  p = m.find("boundary=\"", p);
  SG_FUZZ_CHECK(p != std::string::npos);
  p += 10;
  size_t q = m.find('"', p);
  SG_FUZZ_CHECK(q != std::string::npos);
  return m.substr(p, q - p);
}

// The lines the DSN writes itself (all but the returned original) are
// CRLF-terminated and at most 998 octets (RFC 5322 2.1.1).
void CheckOwnLines(std::string_view own) {
  SG_FUZZ_CHECK(CrlfClean(own));
  size_t start = 0;
  while (start < own.size()) {
    size_t eol = own.find("\r\n", start);
    SG_FUZZ_CHECK(eol != std::string_view::npos);
    SG_FUZZ_CHECK(eol - start <= 998);
    start = eol + 2;
  }
}

void CheckDsn(const Parsed& in, const v1::MessageRecord& dsn) {
  const auto& denv = dsn.envelope();
  SG_FUZZ_CHECK(denv.mail_from().empty());
  SG_FUZZ_CHECK(denv.recipients_size() == 1);
  SG_FUZZ_CHECK(denv.recipients(0).address() == in.original.envelope().mail_from());
  SG_FUZZ_CHECK(denv.recipients(0).notify_given() && denv.recipients(0).notify().never());

  const std::string& m = dsn.message();
  const std::string boundary = Boundary(m);
  const std::string delimiter = "\r\n--" + boundary;
  // Delimiter lines (RFC 2046 5.1.1: "--boundary" at the start of a line):
  // notification, delivery status, returned message, close.
  SG_FUZZ_CHECK(Count(m, delimiter) == 4);
  SG_FUZZ_CHECK(m.ends_with(delimiter + "--\r\n"));
  size_t third = 0;  // the delimiter line that opens the returned message
  for (size_t i = 0, from = 0; i < 3; ++i, from = third + 1) {
    third = m.find(delimiter + "\r\n", from);
    SG_FUZZ_CHECK(third != std::string::npos);
  }
  const size_t returned = m.find("\r\n\r\n", third);
  SG_FUZZ_CHECK(returned != std::string::npos);
  const size_t close = m.size() - delimiter.size() - 4;
  CheckOwnLines(std::string_view(m).substr(0, returned + 4));
  const std::string& body = in.original.message();
  if (CrlfClean(body)) SG_FUZZ_CHECK(CrlfClean(m));

  const size_t status_part = m.find("Content-Type: message/delivery-status\r\n");
  SG_FUZZ_CHECK(status_part != std::string::npos);
  SG_FUZZ_CHECK(Count(std::string_view(m).substr(status_part, returned - status_part),
                      "\r\nFinal-Recipient: ") == in.failed.size());

  std::string_view back = std::string_view(m).substr(returned + 4, close - returned - 4);
  // Issue 13 point 4: mail from the internet (a sender that may be forged)
  // gets its header section back, never the body, whatever RET says.
  const auto& env = in.original.envelope();
  if (env.dsn_ret() != v1::DSN_RET_FULL || env.direction() == v1::DIRECTION_INBOUND) {
    size_t end = body.find("\r\n\r\n");
    if (end != std::string::npos) {
      SG_FUZZ_CHECK(back == std::string_view(body).substr(0, end + 2));
    } else {
      SG_FUZZ_CHECK(back == body || back == body + "\r\n");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Originals that could not have come off the queue are skipped; protobuf
  // would log each of them.
  [[maybe_unused]] static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  Parsed in = ParseInput(std::string_view(reinterpret_cast<const char*>(data), size));
  if (in.failed.empty() || in.original.envelope().mail_from().empty()) return 0;
  // The original came off the queue, so it parsed: its strings are UTF-8.
  v1::MessageRecord queued;
  if (!queued.ParseFromString(in.original.SerializeAsString())) return 0;
  sg::mail::DsnContext ctx{"gw.example.org", "postmaster@gw.example.org", 1796551200000};
  v1::MessageRecord dsn = sg::mail::BuildFailureDsn(in.original, in.failed, ctx);
  CheckDsn(in, dsn);
  v1::MessageRecord again;  // the DSN goes onto the queue in turn
  SG_FUZZ_CHECK(again.ParseFromString(dsn.SerializeAsString()));
  ctx.now_ms += 3600 * 1000;
  SG_FUZZ_CHECK(sg::mail::BuildFailureDsn(in.original, in.failed, ctx).envelope().message_id() ==
                dsn.envelope().message_id());
  return 0;
}
