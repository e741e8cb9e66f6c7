#include "keyservice/decrypt_guard_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/mail/address.h"

namespace sg::keyservice {
namespace {

constexpr uint32_t kSweepEvery = 256;
constexpr size_t kDigestBytes = 32;

std::string Be64(int64_t v) {
  std::string out(8, '\0');
  auto u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(u & 0xFF);
    u >>= 8;
  }
  return out;
}

int64_t ReadBe64(std::string_view s) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) u = (u << 8) | static_cast<unsigned char>(s[i]);
  return static_cast<int64_t>(u);
}

// Time index: "t" + be64(ms) + entry key.
std::string IndexKey(int64_t ms, const std::string& key) { return "t" + Be64(ms) + key; }

Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return OkStatus();
  return MakeError(ErrorCode::kIoError, std::string("decrypt guard: ") + what + ": " + s.ToString());
}

}  // namespace

DecryptGuardStore::DecryptGuardStore(const DecryptGuardOptions& options) : options_(options) {}

DecryptGuardStore::~DecryptGuardStore() {
  if (db_) db_->Close().PermitUncheckedError();
  db_.reset();
}

Result<std::unique_ptr<DecryptGuardStore>> DecryptGuardStore::Open(
    const DecryptGuardOptions& options) {
  std::unique_ptr<DecryptGuardStore> store(new DecryptGuardStore(options));
  rocksdb::Options ro;
  ro.create_if_missing = true;
  std::string path = options.path;
  if (path.empty()) {
    store->mem_env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    ro.env = store->mem_env_.get();
    path = "/decrypt-guard";
  } else {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
      return MakeError(ErrorCode::kIoError, "keyservice.decrypt_guard.path: cannot create " + path +
                                                ": " + ec.message());
    }
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(ro, path, &db);
  if (!s.ok()) {
    return MakeError(ErrorCode::kUnavailable,
                     "keyservice.decrypt_guard.path: cannot open " + path + ": " + s.ToString());
  }
  store->db_.reset(db);
  std::lock_guard<std::mutex> lock(store->mu_);
  store->CountEntries();
  return store;
}

size_t DecryptGuardStore::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_;
}

void DecryptGuardStore::CountEntries() {
  entries_ = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("t"); it->Valid() && it->key().starts_with("t"); it->Next()) ++entries_;
}

Result<std::optional<std::string>> DecryptGuardStore::Get(const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  SG_RETURN_IF_ERROR(FromRocks(s, "read"));
  return std::optional<std::string>(std::move(value));
}

Status DecryptGuardStore::Remember(const std::string& key, int64_t now_ms,
                                   const std::string& rest) {
  rocksdb::WriteBatch batch;
  SG_RETURN_IF_ERROR(FromRocks(batch.Put(key, Be64(now_ms) + rest), "batch"));
  SG_RETURN_IF_ERROR(FromRocks(batch.Put(IndexKey(now_ms, key), ""), "batch"));
  SG_RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "write"));
  ++entries_;
  if (++writes_since_sweep_ >= kSweepEvery || entries_ > options_.max_entries) Sweep(now_ms);
  return OkStatus();
}

void DecryptGuardStore::Sweep(int64_t now_ms) {
  writes_since_sweep_ = 0;
  const int64_t cutoff = now_ms - options_.ttl.count();
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("t"); it->Valid() && it->key().starts_with("t"); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    const int64_t ts = ReadBe64(k.substr(1, 8));
    if (ts >= cutoff && entries_ <= options_.max_entries) break;  // the rest is younger
    const std::string entry(k.substr(9));
    // A rewritten entry has a younger index line: only delete what this one wrote.
    std::string value;
    if (db_->Get(rocksdb::ReadOptions(), entry, &value).ok() && ReadBe64(value) == ts) {
      batch.Delete(entry).PermitUncheckedError();
    }
    batch.Delete(it->key()).PermitUncheckedError();
    if (entries_ > 0) --entries_;
  }
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) spdlog::warn("decrypt guard: expiring old entries failed: {}", s.ToString());
}

Result<ContentKeyVerdict> DecryptGuardStore::ObserveContentKey(const ContentKeySighting& s) {
  if (s.content_key_digest.size() != kDigestBytes || s.ciphertext_digest.size() != kDigestBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "decrypt guard: digests must be 32 bytes");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = "k" + s.content_key_digest;
  SG_ASSIGN_OR_RETURN(std::optional<std::string> seen, Get(key));
  if (seen && seen->size() >= 8 + kDigestBytes) {
    const bool same = seen->compare(8, kDigestBytes, s.ciphertext_digest) == 0;
    const bool expired = ReadBe64(*seen) < s.now_ms - options_.ttl.count();
    if (!expired) return same ? ContentKeyVerdict::kSame : ContentKeyVerdict::kReplayed;
  }
  SG_RETURN_IF_ERROR(Remember(key, s.now_ms, s.ciphertext_digest + s.message_id));
  return ContentKeyVerdict::kFirst;
}

Result<DsnPermission> DecryptGuardStore::PermitFailureDsn(const FailureDsnRequest& r) {
  if (r.sender.empty() || r.key_digest.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "decrypt guard: DSN request without sender or key");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::string dsn_key = "d" + r.sender + std::string(1, '\0') + r.key_digest;
  SG_ASSIGN_OR_RETURN(std::optional<std::string> sent, Get(dsn_key));
  const int64_t ttl = options_.ttl.count();
  if (sent && sent->size() >= 8 && ReadBe64(*sent) >= r.now_ms - ttl) {
    // The same message again (a redelivery after a crash) gets its DSN
    // again; egress suppresses the duplicate by its derived id.
    return sent->substr(8) == r.message_id ? DsnPermission::kAllowed : DsnPermission::kAlreadySent;
  }
  const std::string window_key = "r" + mail::DomainOf(r.sender);
  SG_ASSIGN_OR_RETURN(std::optional<std::string> window, Get(window_key));
  int64_t start = r.now_ms;
  uint32_t count = 0;
  if (window && window->size() >= 12 && ReadBe64(*window) > r.now_ms - options_.dsn_window.count()) {
    start = ReadBe64(*window);
    count = static_cast<uint32_t>(ReadBe64(std::string(4, '\0') + window->substr(8, 4)));
  }
  if (count >= options_.dsn_per_domain) return DsnPermission::kRateLimited;
  const std::string counter = Be64(count + 1).substr(4);  // the low 4 bytes
  if (start == r.now_ms) {
    SG_RETURN_IF_ERROR(Remember(window_key, start, counter));
  } else {
    SG_RETURN_IF_ERROR(
        FromRocks(db_->Put(rocksdb::WriteOptions(), window_key, Be64(start) + counter), "write"));
  }
  SG_RETURN_IF_ERROR(Remember(dsn_key, r.now_ms, r.message_id));
  return DsnPermission::kAllowed;
}

}  // namespace sg::keyservice
