// Who an admin API token speaks for (docs/admin-api.md "Tokens and scopes"):
// the provider (super), a reseller and every tenant it owns, or one tenant.
//
// Threading: plain values.
#pragma once

#include <string>

#include "common/result.h"

namespace sg::admin {

struct Scope {
  enum class Kind { kSuper, kReseller, kTenant };
  Kind kind = Kind::kTenant;
  std::string id;  // the reseller's or tenant's id; "" for super

  // "super", "reseller:R", "tenant:T"
  std::string ToString() const;
  bool is_super() const { return kind == Kind::kSuper; }
};

// Parses "super" | "reseller:ID" | "tenant:ID" (ids as the tenant registry
// accepts them, lower-cased). kInvalidArgument naming the rule otherwise.
Result<Scope> ParseScope(const std::string& text);

}  // namespace sg::admin
