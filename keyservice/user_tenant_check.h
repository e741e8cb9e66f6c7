// Users whose tenant label disagrees with their domain's tenant
// (`smimegatectl tenant check`, docs/tenants.md "Users"). Since session 34
// the keyservice refuses a new or changed label that is not the tenant
// owning the user's domain (key_service_admin.cc); labels stored before
// that, when `tenant` was free text, stay as they were and are listed here,
// never rewritten behind the admin's back.
//
// Threading: a pure function.
#pragma once

#include <string>
#include <vector>

#include "keyservice/key_admin.h"

namespace sg::keyservice {

struct UserTenantMismatch {
  std::string address;
  bool participating = true;
  std::string label;   // the user's stored label ("" for none)
  std::string domain;  // the user's domain
  std::string owner;   // the tenant that owns the domain
};

// Users whose label is not their domain's tenant (a domain without one
// belongs to `default`, whose users may have no label), in the order given. Users of domains not in
// `domains` are skipped (there are none: a domain with users cannot be
// removed).
std::vector<UserTenantMismatch> UserTenantMismatches(const std::vector<User>& users,
                                                     const std::vector<Domain>& domains);

}  // namespace sg::keyservice
