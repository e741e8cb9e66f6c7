#include "keyservice/key_cache_store.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "keyservice/key_cache_store.pb.h"

namespace sg::keyservice {
namespace {

namespace pb = smimegate::keyservice::cache;
namespace fs = std::filesystem;

// Entries live under "c/", metadata under "m/": dropping every entry is one
// range deletion that leaves the metadata alone.
constexpr char kEntriesBegin[] = "c/";
constexpr char kEntriesEnd[] = "c0";  // '0' follows '/'
constexpr char kFormatKey[] = "m/format";
constexpr char kSyncKey[] = "m/sync";
constexpr char kFormat[] = "worker-key-cache/1";

std::string EncryptionKey(const std::string& address) { return "c/e/" + address; }
std::string ParticipationKey(const std::string& address) { return "c/p/" + address; }
const std::string kAnchorsKey = "c/t";

int64_t ToMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
std::chrono::system_clock::time_point FromMs(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// Only files RocksDB itself writes are removed when a broken cache is wiped:
// a path pointed at the wrong directory must not cost anyone their files.
bool IsRocksDbFile(const std::string& name) {
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  auto ends = [&](const std::string& s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return name == "CURRENT" || name == "IDENTITY" || name == "LOCK" || name == "LOG" ||
         starts("LOG.old.") || starts("MANIFEST-") || starts("OPTIONS-") || ends(".sst") ||
         ends(".log") || ends(".blob") || ends(".dbtmp");
}

Status Wipe(const std::string& path, const std::string& config_key) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !IsRocksDbFile(name)) {
      return MakeError(ErrorCode::kIoError,
                       config_key + ": " + path + " holds \"" + name +
                           "\", which is not part of a key cache; not wiping it (point the "
                           "key cache at a directory of its own)");
    }
    doomed.push_back(entry.path());
  }
  if (ec) return MakeError(ErrorCode::kIoError, config_key + ": cannot list " + path + ": " + ec.message());
  for (const auto& p : doomed) {
    fs::remove(p, ec);
    if (ec) {
      return MakeError(ErrorCode::kIoError,
                       config_key + ": cannot remove " + p.string() + ": " + ec.message());
    }
  }
  return OkStatus();
}

bool IsLockConflict(const rocksdb::Status& s) {
  return s.IsIOError() && s.ToString().find("LOCK") != std::string::npos;
}

// Drops entries (not metadata) whose expiry is more than `keep` in the past.
class ExpiredEntryFilter : public rocksdb::CompactionFilter {
 public:
  explicit ExpiredEntryFilter(std::chrono::milliseconds keep) : keep_(keep) {}
  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    if (!key.starts_with(kEntriesBegin)) return false;
    pb::CachedExpiry e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;  // unreadable
    return FromMs(e.expires_ms()) + keep_ < std::chrono::system_clock::now();
  }
  const char* Name() const override { return "smimegate.ExpiredEntryFilter"; }

 private:
  std::chrono::milliseconds keep_;
};

}  // namespace

Result<std::unique_ptr<KeyCacheStore>> KeyCacheStore::Open(const std::string& path,
                                                           const std::string& config_key,
                                                           std::chrono::milliseconds keep_expired) {
  auto filter = std::make_shared<ExpiredEntryFilter>(keep_expired);
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError,
                     config_key + ": cannot create " + path + ": " + ec.message());
  }
  auto first = OpenOnce(path, config_key, filter);
  if (first.ok() || first.error().code == ErrorCode::kUnavailable) return first;
  spdlog::warn("{}: the worker key cache at {} is unusable ({}); wiping it and starting cold",
               config_key, path, first.error().message);
  SG_RETURN_IF_ERROR(Wipe(path, config_key));
  auto second = OpenOnce(path, config_key, filter);
  if (second.ok()) (*second)->wiped_ = true;
  return second;
}

Result<std::unique_ptr<KeyCacheStore>> KeyCacheStore::OpenOnce(
    const std::string& path, const std::string& config_key,
    std::shared_ptr<rocksdb::CompactionFilter> filter) {
  rocksdb::Options options;
  options.compaction_filter = filter.get();
  options.create_if_missing = true;
  options.max_open_files = 256;
  options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) {
    if (IsLockConflict(s)) {
      return MakeError(ErrorCode::kUnavailable,
                       config_key + ": " + path +
                           " is in use by another process (every worker needs a key cache "
                           "directory of its own; in Kubernetes an emptyDir volume per pod): " +
                           s.ToString());
    }
    return MakeError(ErrorCode::kCorruption, s.ToString());
  }
  std::unique_ptr<KeyCacheStore> store(new KeyCacheStore());
  store->filter_ = std::move(filter);
  store->db_.reset(raw);
  store->path_ = path;
  store->config_key_ = config_key;

  std::string format;
  s = raw->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (s.IsNotFound()) {
    // New, or not ours: a database with records but no format marker is foreign.
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) return MakeError(ErrorCode::kCorruption, "records without a format marker");
    if (!it->status().ok()) return MakeError(ErrorCode::kCorruption, it->status().ToString());
    s = raw->Put(rocksdb::WriteOptions(), kFormatKey, kFormat);
    if (!s.ok()) return MakeError(ErrorCode::kCorruption, s.ToString());
  } else if (!s.ok()) {
    return MakeError(ErrorCode::kCorruption, s.ToString());
  } else if (format != kFormat) {
    return MakeError(ErrorCode::kCorruption, "unknown format \"" + format.substr(0, 64) + "\"");
  }

  std::string sync;
  s = raw->Get(rocksdb::ReadOptions(), kSyncKey, &sync);
  if (s.ok()) {
    pb::CacheSync p;
    if (!p.ParseFromString(sync)) return MakeError(ErrorCode::kCorruption, "unreadable sync position");
    store->position_ = CachePosition{p.epoch(), p.version()};
  } else if (!s.IsNotFound()) {
    return MakeError(ErrorCode::kCorruption, s.ToString());
  }
  return store;
}

KeyCacheStore::~KeyCacheStore() {
  if (db_) db_->Close().PermitUncheckedError();
}

std::optional<std::string> KeyCacheStore::GetRaw(const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) {
    spdlog::warn("{}: key cache read failed ({}); treated as a miss", config_key_, s.ToString());
    return std::nullopt;
  }
  return value;
}

Status KeyCacheStore::PutRaw(const std::string& key, const std::string& value) {
  rocksdb::Status s = db_->Put(rocksdb::WriteOptions(), key, value);
  if (!s.ok()) return MakeError(ErrorCode::kIoError, config_key_ + ": " + s.ToString());
  return OkStatus();
}

std::optional<Persisted<std::optional<EncryptionCertificate>>> KeyCacheStore::GetEncryption(
    const std::string& address) {
  auto raw = GetRaw(EncryptionKey(address));
  if (!raw) return std::nullopt;
  pb::CachedEncryption p;
  if (!p.ParseFromString(*raw)) {
    spdlog::warn("{}: unreadable cache record for {}; treated as a miss", config_key_, address);
    return std::nullopt;
  }
  Persisted<std::optional<EncryptionCertificate>> out;
  out.expires = FromMs(p.expires_ms());
  if (p.present()) {
    EncryptionCertificate c;
    c.owner = p.owner();
    c.certificate_der = p.certificate_der();
    c.smime_capabilities_der = p.smime_capabilities_der();
    c.capabilities.assign(p.capabilities().begin(), p.capabilities().end());
    c.domain_certificate = p.domain_certificate();
    c.domain_certificate_der = p.domain_certificate_der();
    c.domain_capabilities.assign(p.domain_capabilities().begin(), p.domain_capabilities().end());
    out.value = std::move(c);
  }
  return out;
}

std::optional<Persisted<bool>> KeyCacheStore::GetParticipation(const std::string& address) {
  auto raw = GetRaw(ParticipationKey(address));
  if (!raw) return std::nullopt;
  pb::CachedParticipation p;
  if (!p.ParseFromString(*raw)) return std::nullopt;
  return Persisted<bool>{p.participates(), FromMs(p.expires_ms())};
}

std::optional<Persisted<TrustAnchors>> KeyCacheStore::GetAnchors() {
  auto raw = GetRaw(kAnchorsKey);
  if (!raw) return std::nullopt;
  pb::CachedAnchors p;
  if (!p.ParseFromString(*raw)) return std::nullopt;
  TrustAnchors a;
  a.der.assign(p.der().begin(), p.der().end());
  a.version = p.version();
  return Persisted<TrustAnchors>{std::move(a), FromMs(p.expires_ms())};
}

Status KeyCacheStore::PutEncryption(const std::string& address,
                                    const Persisted<std::optional<EncryptionCertificate>>& entry) {
  pb::CachedEncryption p;
  p.set_expires_ms(ToMs(entry.expires));
  if (entry.value) {
    const EncryptionCertificate& c = *entry.value;
    p.set_present(true);
    p.set_owner(c.owner);
    p.set_certificate_der(c.certificate_der);
    p.set_smime_capabilities_der(c.smime_capabilities_der);
    for (const auto& cap : c.capabilities) p.add_capabilities(cap);
    p.set_domain_certificate(c.domain_certificate);
    p.set_domain_certificate_der(c.domain_certificate_der);
    for (const auto& cap : c.domain_capabilities) p.add_domain_capabilities(cap);
  }
  return PutRaw(EncryptionKey(address), p.SerializeAsString());
}

Status KeyCacheStore::PutParticipation(const std::string& address, const Persisted<bool>& entry) {
  pb::CachedParticipation p;
  p.set_expires_ms(ToMs(entry.expires));
  p.set_participates(entry.value);
  return PutRaw(ParticipationKey(address), p.SerializeAsString());
}

Status KeyCacheStore::PutAnchors(const Persisted<TrustAnchors>& entry) {
  pb::CachedAnchors p;
  p.set_expires_ms(ToMs(entry.expires));
  for (const auto& d : entry.value.der) p.add_der(d);
  p.set_version(entry.value.version);
  return PutRaw(kAnchorsKey, p.SerializeAsString());
}

Status KeyCacheStore::ApplyChanges(const std::vector<std::string>& addresses, bool drop_all,
                                   CachePosition position) {
  // Adding to a WriteBatch only fails past 4 GiB per batch; Write reports it.
  rocksdb::WriteBatch batch;
  if (drop_all) {
    batch.DeleteRange(kEntriesBegin, kEntriesEnd).PermitUncheckedError();
  } else {
    for (const auto& a : addresses) {
      batch.Delete(EncryptionKey(a)).PermitUncheckedError();
      batch.Delete(ParticipationKey(a)).PermitUncheckedError();
    }
  }
  pb::CacheSync p;
  p.set_epoch(position.epoch);
  p.set_version(position.version);
  batch.Put(kSyncKey, p.SerializeAsString()).PermitUncheckedError();
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return MakeError(ErrorCode::kIoError, config_key_ + ": " + s.ToString());
  position_ = position;
  return OkStatus();
}

uint64_t KeyCacheStore::EstimateEntries() {
  uint64_t n = 0;
  if (!db_->GetIntProperty("rocksdb.estimate-num-keys", &n)) return 0;
  return n > 2 ? n - 2 : 0;  // minus the format and sync records
}

void KeyCacheStore::CompactForTest() {
  db_->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).PermitUncheckedError();
}

std::vector<std::string> KeyCacheStore::RawValuesForTest() {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(it->value().ToString());
  return out;
}

}  // namespace sg::keyservice
