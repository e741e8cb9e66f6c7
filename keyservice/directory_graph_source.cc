#include "keyservice/directory_graph_source.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/ascii.h"

namespace sg::keyservice {
namespace {

using nlohmann::json;

constexpr int kMaxPages = 100000;
constexpr auto kTokenMargin = std::chrono::seconds(60);
constexpr const char* kSelect = "$select=id,mail,proxyAddresses,accountEnabled,userType";

// "https://host:port" of a URL (lower-case), "" when it has none.
std::string OriginOf(const std::string& url) {
  if (url.rfind("https://", 0) != 0) return "";
  size_t end = url.find_first_of("/?#", 8);
  return AsciiLower(url.substr(0, end == std::string::npos ? url.size() : end));
}

// The start of a Graph error answer, for messages ("Authorization_RequestDenied: ...").
std::string ErrorText(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  std::string text;
  if (j.is_object()) {
    const json* e = j.contains("error") ? &j["error"] : nullptr;
    if (e != nullptr && e->is_object()) {
      if (e->contains("code") && (*e)["code"].is_string()) text = (*e)["code"].get<std::string>();
      if (e->contains("message") && (*e)["message"].is_string()) {
        text += ": " + (*e)["message"].get<std::string>();
      }
    } else if (e != nullptr && e->is_string()) {  // OAuth: {"error": "invalid_client", ...}
      text = e->get<std::string>();
      if (j.contains("error_description") && j["error_description"].is_string()) {
        text += ": " + j["error_description"].get<std::string>();
      }
    }
  }
  if (text.size() > 300) text.resize(300);
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return text.empty() ? "no error details" : text;
}

Error EntryError(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "Graph answer: " + what);
}

// One entry of a users answer: a full object, a delta update (only the
// changed properties) or an @removed entry.
Status ApplyEntry(const json& e, std::map<std::string, GraphUser>& users) {
  if (!e.is_object()) return EntryError("a user entry that is not an object");
  auto id = e.find("id");
  if (id == e.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return EntryError("a user entry without an id");
  }
  const auto& key = id->get_ref<const std::string&>();
  if (e.contains("@removed")) {
    users.erase(key);
    return OkStatus();
  }
  GraphUser& u = users[key];
  if (auto m = e.find("mail"); m != e.end()) {
    if (!m->is_null() && !m->is_string()) return EntryError("user " + key + ": mail is not a string");
    u.mail = m->is_string() ? m->get<std::string>() : "";
  }
  if (auto p = e.find("proxyAddresses"); p != e.end()) {
    if (!p->is_array()) return EntryError("user " + key + ": proxyAddresses is not a list");
    u.proxy_addresses.clear();
    for (const auto& a : *p) {
      if (!a.is_string()) return EntryError("user " + key + ": a proxy address is not a string");
      u.proxy_addresses.push_back(a.get<std::string>());
    }
  }
  if (auto a = e.find("accountEnabled"); a != e.end()) {
    if (!a->is_null() && !a->is_boolean()) {
      return EntryError("user " + key + ": accountEnabled is not a boolean");
    }
    u.enabled = !a->is_boolean() || a->get<bool>();
  }
  if (auto t = e.find("userType"); t != e.end()) {
    u.guest = t->is_string() && t->get_ref<const std::string&>() == "Guest";
  }
  return OkStatus();
}

}  // namespace

GraphSource::GraphSource(GraphSourceConfig config, std::unique_ptr<GraphHttp> http,
                         const Clock& clock, GraphSleep sleep)
    : config_(std::move(config)), http_(std::move(http)), clock_(clock), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

GraphFetchStats GraphSource::last_stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<std::string> GraphSource::ReadSecret() const {
  std::string secret;
  if (!config_.client_secret_file.empty()) {
    std::ifstream in(config_.client_secret_file, std::ios::binary);
    if (!in) {
      return MakeError(ErrorCode::kUnavailable,
                       "client_secret_file: cannot read " + config_.client_secret_file);
    }
    std::getline(in, secret);
    while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  } else if (const char* v = std::getenv(config_.client_secret_env.c_str())) {  // NOLINT(concurrency-mt-unsafe)
    secret = v;
  }
  if (secret.empty()) {
    return MakeError(ErrorCode::kUnavailable,
                     "no client secret (client_secret_file " + config_.client_secret_file +
                         ", client_secret_env " + config_.client_secret_env + ")");
  }
  return secret;
}

Result<std::string> GraphSource::Token() {
  if (!token_.empty() && clock_.Now() < token_expiry_) return token_;
  token_.clear();
  SG_ASSIGN_OR_RETURN(std::string secret, ReadSecret());
  GraphHttpRequest req;
  req.url = config_.token_url;
  req.form = {{"grant_type", "client_credentials"},
              {"client_id", config_.client_id},
              {"client_secret", secret},
              {"scope", config_.graph_url + "/.default"}};
  req.max_bytes = 1 << 20;
  req.timeout = config_.timeout;
  ++stats_.token_requests;
  auto answer = http_->Send(req);
  OPENSSL_cleanse(secret.data(), secret.size());
  OPENSSL_cleanse(req.form[2].second.data(), req.form[2].second.size());
  if (!answer.ok()) return MakeError(answer.error().code, "token endpoint: " + answer.error().message);
  if (answer->status != 200) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "token endpoint " + config_.token_url + " answered HTTP " +
                         std::to_string(answer->status) + ": " + ErrorText(answer->body));
  }
  json j = json::parse(answer->body, nullptr, false);
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string() ||
      !j.contains("expires_in") || !j["expires_in"].is_number_integer()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "token endpoint: the answer has no access_token and expires_in");
  }
  token_ = j["access_token"].get<std::string>();
  auto lifetime = std::chrono::seconds(j["expires_in"].get<int64_t>());
  token_expiry_ = clock_.Now() + (lifetime > kTokenMargin ? lifetime - kTokenMargin : lifetime / 2);
  return token_;
}

// GET with the token; one token refresh on 401, Retry-After on 429/503.
Result<std::string> GraphSource::GetJsonBody(const std::string& url) {
  bool refreshed = false;
  int retries = 0;
  for (;;) {
    SG_ASSIGN_OR_RETURN(std::string token, Token());
    GraphHttpRequest req;
    req.url = url;
    req.bearer_token = std::move(token);
    req.max_bytes = config_.max_answer_bytes;
    req.timeout = config_.timeout;
    ++stats_.requests;
    SG_ASSIGN_OR_RETURN(auto answer, http_->Send(req));
    if (answer.status == 200) return std::move(answer.body);
    if (answer.status == 401 && !refreshed) {
      refreshed = true;  // an expired or revoked token: one new one
      token_.clear();
      continue;
    }
    if ((answer.status == 429 || answer.status == 503) && retries < config_.max_retries) {
      auto wait = answer.retry_after_seconds
                      ? std::chrono::milliseconds(*answer.retry_after_seconds * 1000)
                      : std::chrono::milliseconds(1000LL << retries);
      if (wait > config_.max_retry_wait) {
        return MakeError(ErrorCode::kUnavailable,
                         "Graph throttles (HTTP " + std::to_string(answer.status) +
                             ", Retry-After " + std::to_string(wait.count() / 1000) +
                             " s, more than max_retry_wait): the next run tries again");
      }
      ++retries;
      ++stats_.retries;
      sleep_(wait);
      continue;
    }
    ErrorCode code = answer.status == 401 || answer.status == 403 ? ErrorCode::kPermissionDenied
                     : answer.status == 410                       ? ErrorCode::kNotFound
                                                                  : ErrorCode::kUnavailable;
    return MakeError(code, "Graph answered HTTP " + std::to_string(answer.status) + " to " +
                               url.substr(0, url.find('?')) + ": " + ErrorText(answer.body));
  }
}

// Follows the pages from |url| to the delta link (or the last page),
// applying the entries to |snapshot|.
Status GraphSource::Round(Snapshot& snapshot, std::string url) {
  const std::string origin = OriginOf(config_.graph_url);
  snapshot.delta_link.clear();
  for (int page = 0; page < kMaxPages; ++page) {
    SG_ASSIGN_OR_RETURN(std::string body, GetJsonBody(url));
    json j = json::parse(body, nullptr, false);
    body.clear();
    if (j.is_discarded()) return EntryError("not JSON (page " + std::to_string(page + 1) + ")");
    if (!j.is_object() || !j.contains("value") || !j["value"].is_array()) {
      return EntryError("no \"value\" list (page " + std::to_string(page + 1) + ")");
    }
    for (const auto& e : j["value"]) {
      SG_RETURN_IF_ERROR(ApplyEntry(e, snapshot.users));
      ++stats_.entries;
    }
    if (snapshot.users.size() > config_.max_users) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "Graph lists more than max_users (" + std::to_string(config_.max_users) +
                           ") users");
    }
    auto next = j.find("@odata.nextLink");
    auto delta = j.find("@odata.deltaLink");
    const json* link = next != j.end() ? &*next : delta != j.end() ? &*delta : nullptr;
    if (link == nullptr) return OkStatus();  // the last page of a plain listing
    if (!link->is_string() || OriginOf(link->get<std::string>()) != origin ||
        link->get_ref<const std::string&>().compare(origin.size(), 1, "/") != 0) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "Graph answer: a next/delta link that does not point to " + origin +
                           " was refused");
    }
    if (next == j.end()) {
      snapshot.delta_link = link->get<std::string>();
      return OkStatus();
    }
    url = next->get<std::string>();
  }
  return MakeError(ErrorCode::kResourceExhausted,
                   "Graph answer: more than " + std::to_string(kMaxPages) + " pages");
}

Result<std::set<std::string>> GraphSource::GroupMembers() {
  const std::string origin = OriginOf(config_.graph_url);
  std::string url = config_.graph_url + "/v1.0/groups/" + config_.group +
                    "/transitiveMembers/microsoft.graph.user?$select=id&$top=999";
  std::set<std::string> ids;
  for (int page = 0; page < kMaxPages; ++page) {
    SG_ASSIGN_OR_RETURN(std::string body, GetJsonBody(url));
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return EntryError("group members: not JSON");
    if (!j.is_object() || !j.contains("value") || !j["value"].is_array()) {
      return EntryError("group members: no \"value\" list");
    }
    for (const auto& e : j["value"]) {
      if (!e.is_object() || !e.contains("id") || !e["id"].is_string()) {
        return EntryError("group members: an entry without an id");
      }
      ids.insert(e["id"].get<std::string>());
    }
    if (ids.size() > config_.max_users) {
      return MakeError(ErrorCode::kResourceExhausted, "the group has more than max_users members");
    }
    auto next = j.find("@odata.nextLink");
    if (next == j.end()) return ids;
    if (!next->is_string() || OriginOf(next->get<std::string>()) != origin) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "Graph answer: a next link that does not point to " + origin +
                           " was refused");
    }
    url = next->get<std::string>();
  }
  return MakeError(ErrorCode::kResourceExhausted, "group members: too many pages");
}

DirectoryView GraphSource::ViewOf(const std::set<std::string>* members) const {
  DirectoryView view;
  view.users.reserve(snapshot_.users.size());
  for (const auto& [id, u] : snapshot_.users) {
    if (u.guest) continue;
    DirectoryUser d;
    d.address = u.mail;
    for (const auto& p : u.proxy_addresses) {
      if (p.rfind("SMTP:", 0) == 0 && d.address.empty()) d.address = p.substr(5);
      if (p.rfind("smtp:", 0) == 0) d.aliases.push_back(p.substr(5));
    }
    if (d.address.empty()) continue;
    d.enabled = u.enabled;
    d.participating = members == nullptr || members->count(id) != 0;
    view.users.push_back(std::move(d));
  }
  return view;
}

Result<DirectoryView> GraphSource::Fetch() {
  std::lock_guard lock(mu_);
  stats_ = GraphFetchStats{};
  if (!loaded_) {
    if (auto st = LoadCache(); !st.ok()) {
      spdlog::warn("directory source graph: {}; starting a full listing", st.error().message);
      snapshot_ = Snapshot{};
    }
    loaded_ = true;
  }
  if (OriginOf(snapshot_.delta_link) != OriginOf(config_.graph_url)) {
    snapshot_ = Snapshot{};  // graph_url changed: the stored link is not followed
  }
  const std::string base = config_.graph_url + "/v1.0/users";
  Snapshot next;
  Status round = OkStatus();
  if (config_.delta && !snapshot_.delta_link.empty()) {
    next = snapshot_;
    stats_.incremental = true;
    round = Round(next, snapshot_.delta_link);
    if (!round.ok() && round.error().code == ErrorCode::kNotFound) {
      // 410 Gone: the delta link expired; start over with a full round.
      next = Snapshot{};
      stats_.incremental = false;
      round = Round(next, base + "/delta?" + kSelect);
    }
  } else {
    round = Round(next, base + (config_.delta ? "/delta?" : "?$top=999&") + kSelect);
  }
  SG_RETURN_IF_ERROR(round);
  std::set<std::string> members;
  if (!config_.group.empty()) {
    SG_ASSIGN_OR_RETURN(members, GroupMembers());
  }
  snapshot_ = std::move(next);
  if (config_.delta) SG_RETURN_IF_ERROR(SaveCache());
  return ViewOf(config_.group.empty() ? nullptr : &members);
}

Status GraphSource::LoadCache() {
  if (!config_.delta || config_.cache_file.empty()) return OkStatus();
  std::ifstream in(config_.cache_file, std::ios::binary);
  if (!in) return OkStatus();  // never ran
  json j = json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("delta_link") || !j["delta_link"].is_string() ||
      !j.contains("users") || !j["users"].is_object()) {
    return MakeError(ErrorCode::kCorruption, config_.cache_file + " does not parse");
  }
  Snapshot s;
  s.delta_link = j["delta_link"].get<std::string>();
  for (const auto& [id, u] : j["users"].items()) {
    json entry = u;
    entry["id"] = id;
    if (auto st = ApplyEntry(entry, s.users); !st.ok()) {
      return MakeError(ErrorCode::kCorruption, config_.cache_file + ": " + st.error().message);
    }
  }
  snapshot_ = std::move(s);
  return OkStatus();
}

Status GraphSource::SaveCache() const {
  json users = json::object();
  for (const auto& [id, u] : snapshot_.users) {
    users[id] = {{"mail", u.mail},
                 {"proxyAddresses", u.proxy_addresses},
                 {"accountEnabled", u.enabled},
                 {"userType", u.guest ? "Guest" : "Member"}};
  }
  json j = {{"version", 1}, {"delta_link", snapshot_.delta_link}, {"users", std::move(users)}};
  std::error_code ec;
  std::filesystem::path path(config_.cache_file);
  std::filesystem::create_directories(path.parent_path(), ec);
  const std::string tmp = config_.cache_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump();
    out.flush();
    if (!out) return MakeError(ErrorCode::kIoError, "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return MakeError(ErrorCode::kIoError, "cannot rename " + tmp + ": " + ec.message());
  return OkStatus();
}

}  // namespace sg::keyservice
