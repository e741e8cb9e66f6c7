// CmpCanceller: ends a CMP backend's exchanges in progress when the
// keyservice stops, so that stopping never waits for a CA that accepted the
// connection and then stays silent (up to total_timeout otherwise).
//
// Each exchange registers with the canceller (CmpExchangeGuard) and installs
// its HTTP callback on the exchange's OSSL_CMP_CTX: OpenSSL calls it with
// the connection BIO once connected (once per connection; CMP keeps a
// connection alive across the messages of an exchange when the server
// agrees); the exchange takes a reference on that BIO (so the socket is not
// closed, and its descriptor not reused, while the canceller may still
// touch it) and drops it when OpenSSL disconnects or the exchange ends. Cancel() shuts every registered socket down (a
// blocked read returns at once: the exchange fails as kUnavailable) and
// makes every later connection fail before a request is sent.
//
// Not interrupted: a TCP connect to an address that drops SYNs (bounded by
// message_timeout) and OpenSSL's sleep between polls of a delayed issuance
// (bounded by the CA's checkAfter and total_timeout); both end by their own
// bounds.
//
// Threading: thread-safe. The canceller outlives its exchanges (the CA owns
// it; exchanges run inside the CA's calls).
#pragma once

#include <openssl/cmp.h>

#include <mutex>
#include <set>

#include "common/result.h"

namespace sg::keyservice {

class CmpCanceller {
 public:
  CmpCanceller() = default;
  CmpCanceller(const CmpCanceller&) = delete;
  CmpCanceller& operator=(const CmpCanceller&) = delete;

  // Shuts down the sockets of the exchanges in progress; later connections
  // are refused. Irreversible (the keyservice stops).
  void Cancel();
  bool cancelled() const;

 private:
  friend class CmpExchangeGuard;
  struct Exchange {
    BIO* bio = nullptr;  // our reference on the live connection, if any
  };
  static BIO* OnConnection(BIO* bio, void* arg, int connect, int detail);

  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::set<Exchange*> live_;
};

// One exchange's registration, for the exchange's life (stack object in the
// CA call). It must be constructed before the OSSL_CMP_CTX it is installed
// on, so that it outlives it: OpenSSL calls back (disconnect) when the
// context closes a kept-alive connection in OSSL_CMP_CTX_free. Install()
// fails with kUnavailable once cancelled.
class CmpExchangeGuard {
 public:
  explicit CmpExchangeGuard(CmpCanceller& canceller);
  ~CmpExchangeGuard();
  CmpExchangeGuard(const CmpExchangeGuard&) = delete;
  CmpExchangeGuard& operator=(const CmpExchangeGuard&) = delete;

  Status Install(OSSL_CMP_CTX* ctx);

  // The HTTP callback's argument.
  struct Arg {
    CmpCanceller* canceller;
    CmpCanceller::Exchange* exchange;
  };

 private:
  CmpCanceller& canceller_;
  CmpCanceller::Exchange exchange_;
  Arg arg_;
};

}  // namespace sg::keyservice
