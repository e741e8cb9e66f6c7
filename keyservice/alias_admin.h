// AliasAdmin: a user's further addresses (aliases, e.g. directory
// proxyAddresses "smtp:"), kept in the keyservice's alias index
// (key_store.h, column family "aliases"). The key lookups map an alias to
// its user: mail from or to an alias is signed / decrypted with the user's
// key, and Participates follows the user (key_service_impl.cc).
//
// Rules: an alias is a normalised address of a hosted domain, is not a
// user's own address and belongs to at most one user. A user added later
// under an address that is an alias takes that address over (the alias is
// dropped from its owner); removing a user removes its aliases.
//
// Maintained by directory sync (directory_sync.h, in process); there is no
// gRPC call for it.
//
// Threading: implementations are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace sg::keyservice {

class AliasAdmin {
 public:
  virtual ~AliasAdmin() = default;
  // Replaces |address|'s aliases with |aliases| (all or nothing).
  // kNotFound: no such user; kAlreadyExists: an alias is a user's address
  // or another user's alias; kInvalidArgument / kNotFound for a malformed
  // alias or one of a domain that is not hosted (the message names it).
  virtual Status SetUserAliases(const std::string& address,
                                const std::vector<std::string>& aliases) = 0;
  // The user's aliases, sorted (kNotFound: no such user).
  virtual Result<std::vector<std::string>> GetUserAliases(const std::string& address) = 0;
};

}  // namespace sg::keyservice
