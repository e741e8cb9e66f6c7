#include "egress/egress_dedupe.h"

#include <rocksdb/utilities/db_ttl.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/mail/address.h"

namespace sg::egress {

DedupeStore::DedupeStore(rocksdb::DBWithTTL* db) : db_(db) {}
DedupeStore::~DedupeStore() = default;

Result<std::unique_ptr<DedupeStore>> DedupeStore::Open(const std::string& path,
                                                       std::chrono::seconds ttl) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError,
                     "egress.dedupe.path: cannot create " + path + ": " + ec.message());
  }
  rocksdb::Options options;
  options.create_if_missing = true;
  options.keep_log_file_num = 2;
  options.max_log_file_size = 1 << 20;
  rocksdb::DBWithTTL* db = nullptr;
  auto s = rocksdb::DBWithTTL::Open(options, path, &db, static_cast<int32_t>(ttl.count()));
  if (!s.ok()) {
    return MakeError(ErrorCode::kIoError,
                     "egress.dedupe.path: cannot open " + path + ": " + s.ToString());
  }
  return std::unique_ptr<DedupeStore>(new DedupeStore(db));
}

std::string DedupeStore::Key(std::string_view message_id, std::string_view form_id,
                             std::string_view recipient) {
  std::string key;
  key.reserve(message_id.size() + form_id.size() + recipient.size() + 2);
  key.append(message_id).push_back('\0');
  key.append(form_id).push_back('\0');
  // The domain part is case-insensitive (normalised); the local part is
  // kept as given.
  auto at = recipient.rfind('@');
  if (at == std::string_view::npos) {
    key.append(recipient);
  } else {
    key.append(recipient.substr(0, at + 1)).append(mail::DomainOf(recipient));
  }
  return key;
}

Result<bool> DedupeStore::Seen(std::string_view message_id, std::string_view form_id,
                               std::string_view recipient) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), Key(message_id, form_id, recipient), &value);
  if (s.ok()) return true;
  if (s.IsNotFound()) return false;
  return MakeError(ErrorCode::kIoError, "egress dedupe read: " + s.ToString());
}

Status DedupeStore::MarkDelivered(std::string_view message_id, std::string_view form_id,
                                  std::string_view recipient) {
  rocksdb::WriteOptions wo;
  wo.sync = false;  // the WAL reaches the OS in Put; Sync() makes it power-safe
  auto s = db_->Put(wo, Key(message_id, form_id, recipient), "1");
  if (!s.ok()) return MakeError(ErrorCode::kIoError, "egress dedupe write: " + s.ToString());
  return OkStatus();
}

Status DedupeStore::MarkDelivered(std::string_view message_id, std::string_view form_id,
                                  const std::vector<std::string>& recipients, bool sync) {
  rocksdb::WriteBatch batch;
  for (const auto& r : recipients) batch.Put(Key(message_id, form_id, r), "1");
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto s = db_->Write(wo, &batch);
  if (!s.ok()) return MakeError(ErrorCode::kIoError, "egress dedupe write: " + s.ToString());
  return OkStatus();
}

Status DedupeStore::Sync() {
  auto s = db_->SyncWAL();
  if (!s.ok()) return MakeError(ErrorCode::kIoError, "egress dedupe sync: " + s.ToString());
  return OkStatus();
}

}  // namespace sg::egress
