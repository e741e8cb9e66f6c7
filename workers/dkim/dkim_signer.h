// DkimSigner: one DKIM-Signature (RFC 6376; Ed25519 per RFC 8463) over a
// complete message, with Debian's OpenDKIM library (libopendkim). The
// profile is fixed (docs/dkim.md): relaxed/relaxed canonicalisation,
// sha256, the headers From, To, Cc, Subject, Date, Message-ID,
// MIME-Version and Content-Type that are present, From oversigned (one more
// h= entry than From headers, so a From added later breaks the signature).
//
// The worker signs last, after every change it makes (S/MIME signing,
// encryption, subject tags removed), and only prepends the header: the
// bytes it signed (and any S/MIME signature inside) stay as they are.
//
// Errors: kInvalidArgument when the key does not load (names domain and
// selector, never the key), kInternal for any other libopendkim failure
// (names the library's status). The private key is never logged; its PEM
// copy is wiped after use.
//
// Threading: one DkimSigner is shared by every worker thread (the library
// handle is read-only after construction; each Sign has its own DKIM
// handle).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "keyservice/key_service.h"

namespace sg::dkim {

class DkimSigner {
 public:
  // kInternal when libopendkim cannot be initialised.
  static Result<std::unique_ptr<DkimSigner>> Create();
  ~DkimSigner();
  DkimSigner(const DkimSigner&) = delete;
  DkimSigner& operator=(const DkimSigner&) = delete;

  // The header field to prepend to `message` ("DKIM-Signature: ..." ending
  // in the message's line ending, CRLF or LF); t= is the system time (the
  // library's own). `message` is a complete RFC 5322 message.
  Result<std::string> Sign(const keyservice::DkimSigningKey& key, std::string_view message) const;

 private:
  struct Lib;
  explicit DkimSigner(std::unique_ptr<Lib> lib);
  std::unique_ptr<Lib> lib_;
};

}  // namespace sg::dkim
