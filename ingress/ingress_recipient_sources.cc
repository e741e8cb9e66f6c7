#include "ingress/ingress_recipient_sources.h"

#include <fstream>

#include "common/ascii.h"
#include "common/mail/address.h"
#include "ingress/ingress_steps.h"

namespace sg::ingress {
namespace {

std::string Trim(const std::string& s) { return std::string(AsciiTrim(s, " \t\r")); }

// The identity of an address or "@domain" entry (common/mail/address.h):
// an IDN domain in U-labels and its xn-- form are the same entry.
Result<std::string> NormalizeEntry(const std::string& e) {
  if (e[0] == '@') {
    SG_ASSIGN_OR_RETURN(auto domain, mail::NormalizeDomain(e.substr(1)));
    return "@" + domain;
  }
  return mail::NormalizeAddress(e);
}

}  // namespace

RecipientStatus RegistrySource::Lookup(const std::string& address) {
  auto participates = registry_.Participates(address);
  if (!participates.ok()) {
    // A malformed address is not a user; anything else is "cannot say now".
    return participates.error().code == ErrorCode::kInvalidArgument ? RecipientStatus::kUnknown
                                                                    : RecipientStatus::kUnavailable;
  }
  return *participates ? RecipientStatus::kKnown : RecipientStatus::kUnknown;
}

Result<std::set<std::string>> ListSource::Read(const std::string& path, const std::string& where) {
  std::ifstream in(path);
  if (!in) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + where + ": cannot read the recipient list " + path);
  }
  std::set<std::string> entries;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string e = Trim(line);
    if (e.empty() || e[0] == '#') continue;
    const std::string at_line = "config " + where + ": " + path + " line " + std::to_string(n);
    if (e.find('@') == std::string::npos || e.find_first_of(" \t<>,;") != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       at_line + ": expected an address or @domain, got \"" + e + "\"");
    }
    auto normalized = NormalizeEntry(e);
    if (!normalized.ok()) {
      return MakeError(ErrorCode::kInvalidArgument, at_line + ": " + normalized.error().message);
    }
    entries.insert(std::move(*normalized));
  }
  return entries;
}

Result<std::shared_ptr<ListSource>> ListSource::Open(std::string path, std::string where) {
  std::shared_ptr<ListSource> s(new ListSource(std::move(path), std::move(where)));
  SG_RETURN_IF_ERROR(s->Reload());
  return s;
}

Status ListSource::Reload() {
  SG_ASSIGN_OR_RETURN(auto entries, Read(path_, where_));
  auto shared = std::make_shared<const std::set<std::string>>(std::move(entries));
  std::lock_guard<std::mutex> lock(mu_);
  entries_ = std::move(shared);
  return OkStatus();
}

RecipientStatus ListSource::Lookup(const std::string& address) {
  std::shared_ptr<const std::set<std::string>> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries = entries_;
  }
  auto normalized = mail::NormalizeAddress(address);
  const std::string a = normalized.ok() ? *normalized : AsciiLower(address);
  if (entries->count(a) != 0 || entries->count("@" + mail::DomainOf(address)) != 0) {
    return RecipientStatus::kKnown;
  }
  return RecipientStatus::kUnknown;
}

}  // namespace sg::ingress
