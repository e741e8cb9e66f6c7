#include "egress/egress_mta_sts_cache.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sg::egress {
namespace fs = std::filesystem;

StsCache::StsCache(std::string dir) : dir_(std::move(dir)) {
  if (!dir_.empty()) Load();
}

std::optional<StsCacheEntry> StsCache::Lookup(const std::string& domain) const {
  auto it = entries_.find(domain);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void StsCache::Put(const std::string& domain, StsCacheEntry entry) {
  entries_[domain] = std::move(entry);
}

Status StsCache::Persist(const std::string& domain, const StsCacheEntry& entry) const {
  if (dir_.empty()) return OkStatus();
  if (domain.empty() || domain[0] == '.' || domain.find('/') != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "MTA-STS cache: not a domain name: " + domain);
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const std::string path = dir_ + "/" + domain;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << entry.id << '\n' << entry.fetched_ms << '\n' << entry.text;
    if (!out.flush()) {
      return MakeError(ErrorCode::kIoError, "egress.mta_sts.cache_path: cannot write " + tmp);
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError,
                     "egress.mta_sts.cache_path: cannot rename " + tmp + ": " + ec.message());
  }
  return OkStatus();
}

void StsCache::Load() {
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(dir_, ec)) {
    const std::string name = file.path().filename().string();
    if (!file.is_regular_file() || name.ends_with(".tmp")) continue;
    std::ifstream in(file.path(), std::ios::binary);
    StsCacheEntry entry;
    std::string fetched;
    std::getline(in, entry.id);
    std::getline(in, fetched);
    std::stringstream rest;
    rest << in.rdbuf();
    entry.text = rest.str();
    auto policy = ParseStsPolicy(entry.text);
    char* end = nullptr;
    entry.fetched_ms = std::strtoll(fetched.c_str(), &end, 10);
    if (!policy.ok() || end == fetched.c_str() || entry.id.empty()) {
      spdlog::warn("egress: MTA-STS cache file {} ignored: not a cached policy",
                   file.path().string());
      continue;
    }
    entry.policy = *policy;
    entries_[name] = std::move(entry);
  }
}

}  // namespace sg::egress
