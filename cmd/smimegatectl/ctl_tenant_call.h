// The call-and-print shape of the commands on a part of a tenant
// (smimegatectl tenant route|policy|branding show|set|clear,
// cmd/smimegatectl/ctl_tenant_route.cc and ctl_tenant_policy.cc): one
// keyservice call that answers the tenant; its failure exits as Fail does
// (1 NOT_FOUND, 2 INVALID_ARGUMENT, ...); the tenant is printed as text, or
// as JSON with --json.
//
// Threading: like Ctl (the action runs once, on the main thread).
#pragma once

#include <functional>
#include <utility>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"

namespace sg::ctl {

using TenantCall = std::function<Result<ks::Tenant>(ks::KeyServiceClient&)>;
using TenantText = std::function<void(const ks::Tenant&)>;
using TenantToJson = std::function<nlohmann::json(const ks::Tenant&)>;

// `json` (may be null: no --json) is read when the action runs, after the
// command line is parsed; `to_json` is needed only with it.
inline void RunTenantCall(Ctl& ctl, TenantCall call, TenantText text, const bool* json = nullptr,
                          TenantToJson to_json = nullptr) {
  ctl.Run([call = std::move(call), text = std::move(text), json,
           to_json = std::move(to_json)](ks::KeyServiceClient& c) {
    auto t = call(c);
    if (!t.ok()) return Fail(t.error());
    if (json != nullptr && *json) return PrintJson(to_json(*t));
    text(*t);
    return 0;
  });
}

}  // namespace sg::ctl
