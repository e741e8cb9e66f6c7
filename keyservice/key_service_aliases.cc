// KeyServiceImpl's alias index (alias_admin.h): setting a user's aliases,
// dropping an alias a new user takes over, and the lookup on a miss.
#include <algorithm>
#include <set>

#include "common/mail/address.h"
#include "keyservice/key_service_impl.h"

namespace sg::keyservice {
namespace {

// "alias <alias> of <user>: <why>"
Error AliasError(ErrorCode code, const std::string& alias, const std::string& user,
                 const std::string& why) {
  std::string message = "alias ";
  message.append(alias).append(" of ").append(user).append(": ").append(why);
  return MakeError(code, std::move(message));
}

}  // namespace

Result<std::optional<store::StoredUser>> KeyServiceImpl::UserOrAliasOwner(std::string& addr) {
  SG_ASSIGN_OR_RETURN(auto user, store_->GetUser(addr));
  if (user) return user;
  SG_ASSIGN_OR_RETURN(auto owner, store_->GetAliasOwner(addr));
  if (!owner) return user;
  SG_ASSIGN_OR_RETURN(user, store_->GetUser(*owner));
  if (user) addr = *owner;
  return user;
}

Status KeyServiceImpl::SetUserAliases(const std::string& address,
                                      const std::vector<std::string>& aliases) {
  SG_ASSIGN_OR_RETURN(std::string addr, mail::NormalizeAddress(address));
  std::set<std::string> wanted;
  for (const auto& a : aliases) {
    auto alias = mail::NormalizeAddress(a);
    if (!alias.ok()) {
      return AliasError(ErrorCode::kInvalidArgument, "\"" + a + "\"", addr, alias.error().message);
    }
    if (*alias == addr) continue;
    if (!IsHosted(mail::DomainOf(*alias))) {
      return AliasError(ErrorCode::kNotFound, *alias, addr,
                        "domain " + mail::DomainOf(*alias) + " is not hosted");
    }
    wanted.insert(*alias);
  }
  std::lock_guard lock(alias_mu_);
  SG_ASSIGN_OR_RETURN(auto user, store_->GetUser(addr));
  if (!user) return MakeError(ErrorCode::kNotFound, "no user " + addr);
  for (const auto& alias : wanted) {
    SG_ASSIGN_OR_RETURN(auto other_user, store_->GetUser(alias));
    if (other_user) {
      return AliasError(ErrorCode::kAlreadyExists, alias, addr, "it is a user's address");
    }
    SG_ASSIGN_OR_RETURN(auto owner, store_->GetAliasOwner(alias));
    if (owner && *owner != addr) {
      return AliasError(ErrorCode::kAlreadyExists, alias, addr, "already an alias of " + *owner);
    }
  }
  std::vector<std::string> removed;
  for (const auto& old : user->aliases()) {
    if (wanted.count(old) == 0) removed.push_back(old);
  }
  user->clear_aliases();
  for (const auto& alias : wanted) user->add_aliases(alias);
  SG_RETURN_IF_ERROR(store_->PutUserAliases(*user, removed));
  // Caches (key_cache.h) hold answers per address: the aliases' answers change.
  for (const auto& alias : removed) changes_.Publish("user", alias);
  for (const auto& alias : wanted) changes_.Publish("user", alias);
  return OkStatus();
}

Result<std::vector<std::string>> KeyServiceImpl::GetUserAliases(const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string addr, mail::NormalizeAddress(address));
  SG_ASSIGN_OR_RETURN(auto user, store_->GetUser(addr));
  if (!user) return MakeError(ErrorCode::kNotFound, "no user " + addr);
  return std::vector<std::string>(user->aliases().begin(), user->aliases().end());
}

Status KeyServiceImpl::DropAliasLocked(const std::string& alias) {
  SG_ASSIGN_OR_RETURN(auto owner, store_->GetAliasOwner(alias));
  if (!owner) return OkStatus();
  SG_ASSIGN_OR_RETURN(auto user, store_->GetUser(*owner));
  if (!user) return store_->DeleteAlias(alias);  // a stale entry
  auto* list = user->mutable_aliases();
  list->erase(std::remove(list->begin(), list->end(), alias), list->end());
  return store_->PutUserAliases(*user, {alias});
}

}  // namespace sg::keyservice
