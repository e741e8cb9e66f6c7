// The Microsoft Graph directory source (`type: graph`, docs/directory.md):
// the users of a Microsoft 365 / Entra ID tenant as a DirectoryView.
//
//   token     OAuth 2.0 client credentials at token_url (scope
//             <graph_url>/.default); the secret is read from its file or
//             environment variable at each token request and never logged;
//             the token is kept until shortly before it expires; a 401 on a
//             Graph request fetches a new token once.
//   listing   GET <graph_url>/v1.0/users/delta?$select=id,mail,
//             proxyAddresses,accountEnabled,userType, following
//             @odata.nextLink to the @odata.deltaLink. The next run starts at
//             the delta link and gets only the changes (@removed entries
//             delete); the merged snapshot and the link are saved together
//             in cache_file, so a restart continues incrementally. A 410
//             (delta link expired) starts a full round. With `delta: false`
//             every run lists /v1.0/users instead.
//   group     with `group`, the group's transitive user members (ids only,
//             every run) participate; the other users are listed as not
//             participating.
//   retries   429/503: waits Retry-After (or 1, 2, 4... s) up to
//             max_retry_wait, at most max_retries times per request.
//   hostile   an answer over max_answer_bytes, not JSON, of the wrong shape,
//             a next/delta link to another origin than graph_url, more than
//             max_users users: the run fails with a message saying which;
//             the snapshot and delta link stay as they were.
//
// A user's address is `mail` (else its "SMTP:" proxy address); its aliases
// are the lower-case "smtp:" proxy addresses. Guests (userType Guest) and
// users without an address are left out.
//
// Threading: Fetch is serialised by the source itself. The HTTP client,
// clock and sleep function are owned/borrowed as the constructor says.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "keyservice/directory_config.h"
#include "keyservice/directory_graph_http.h"
#include "keyservice/directory_source.h"

namespace sg::keyservice {

// Waits before a retry (the real one sleeps; tests record).
using GraphSleep = std::function<void(std::chrono::milliseconds)>;

// One Graph user as the snapshot keeps it.
struct GraphUser {
  std::string mail;
  std::vector<std::string> proxy_addresses;
  bool enabled = true;
  bool guest = false;
};

// What the last Fetch did (tests, the benchmark).
struct GraphFetchStats {
  bool incremental = false;  // started from a stored delta link
  int requests = 0;          // Graph requests (not the token endpoint)
  int token_requests = 0;
  int retries = 0;           // 429/503 waits
  int entries = 0;           // user entries received (changes when incremental)
};

class GraphSource final : public DirectorySource {
 public:
  // |clock| must outlive the source.
  GraphSource(GraphSourceConfig config, std::unique_ptr<GraphHttp> http, const Clock& clock,
              GraphSleep sleep);
  Result<DirectoryView> Fetch() override;
  GraphFetchStats last_stats() const;

 private:
  struct Snapshot {
    std::map<std::string, GraphUser> users;  // by Graph object id
    std::string delta_link;
  };
  Result<std::string> Token();
  Result<std::string> ReadSecret() const;
  Result<std::string> GetJsonBody(const std::string& url);
  Status Round(Snapshot& snapshot, std::string url);
  Result<std::set<std::string>> GroupMembers();
  Status LoadCache();
  Status SaveCache() const;
  DirectoryView ViewOf(const std::set<std::string>* members) const;

  GraphSourceConfig config_;
  std::unique_ptr<GraphHttp> http_;
  const Clock& clock_;
  GraphSleep sleep_;
  mutable std::mutex mu_;
  bool loaded_ = false;
  Snapshot snapshot_;
  std::string token_;
  std::chrono::system_clock::time_point token_expiry_{};
  GraphFetchStats stats_;
};

}  // namespace sg::keyservice
