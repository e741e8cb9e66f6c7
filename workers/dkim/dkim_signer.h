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
// (names the library's status). The private key is never logged; the PEM
// copy libopendkim needs is made once per domain's key and kept in memory
// only (dkim_key_cache.h), wiped when dropped.
//
// Threading: one DkimSigner is shared by every worker thread (the library
// handle is read-only after construction; each Sign has its own DKIM
// handle; the key cache has its own lock).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "keyservice/key_service.h"

namespace sg::dkim {

class DkimSigner {
 public:
  // Keys of this many From domains stay prepared (dkim_key_cache.h); 0
  // prepares the key for every signature (the benchmark's baseline).
  static constexpr size_t kDefaultKeyCacheEntries = 1024;

  // kInternal when libopendkim cannot be initialised.
  static Result<std::unique_ptr<DkimSigner>> Create(
      size_t key_cache_entries = kDefaultKeyCacheEntries);

  // How many times a key was prepared (PEM made) so far: tests, benchmark.
  size_t KeysPrepared() const;
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
