// The local recipient sources of ingress_recipient_verifier.h: the
// keyservice's user registry and a list file.
//
// Threading: both are thread-safe (Lookup from the recipient pool, Reload
// from the main thread).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "ingress/ingress_recipient_verifier.h"

namespace sg::ingress {

// Participating users of the keyservice are known; everyone else is
// unknown to this source (a non-participating user needs a list or a
// callout); a registry that cannot be reached is unavailable.
class RegistrySource : public RecipientSource {
 public:
  explicit RegistrySource(UserRegistry& registry) : registry_(registry) {}
  std::string Name() const override { return "registry"; }
  RecipientStatus Lookup(const std::string& address) override;

 private:
  UserRegistry& registry_;
};

// A text file: one address per line ("alice@example.com"), or "@domain" to
// accept every address of that domain; blank lines and lines starting with
// '#' are ignored; compared case-insensitively.
class ListSource : public RecipientSource {
 public:
  // Reads `path`; `where` names the config key in errors.
  static Result<std::shared_ptr<ListSource>> Open(std::string path, std::string where);
  std::string Name() const override { return "list"; }
  RecipientStatus Lookup(const std::string& address) override;
  Status Reload() override;

 private:
  ListSource(std::string path, std::string where)
      : path_(std::move(path)), where_(std::move(where)) {}
  static Result<std::set<std::string>> Read(const std::string& path, const std::string& where);

  const std::string path_, where_;
  std::mutex mu_;
  std::shared_ptr<const std::set<std::string>> entries_;
};

}  // namespace sg::ingress
