// ConnectPortalAdmin: the portal the admin REST API's /v1/portal routes
// talk to (admin/admin_portal.h, docs/admin-api.md "Portal"):
//   - the portal runs in this process (`smimegate run`): its admin socket
//     (portal.admin_socket), a Unix socket only this user can open: no
//     network, no credentials;
//   - else keyservice.admin_api.portal.endpoint (the distributed mode: the
//     portal pod's portal.admin.listen), mutual TLS with the admin
//     credentials in keyservice.admin_api.portal.credentials, the portal's
//     certificate checked for server_name;
//   - else none (nullptr: the routes answer 503).
// The channel connects lazily: a portal that starts later is reached then.
//
// Errors: the credentials directory lacks a file (naming it and the fix).
// Threading: call from the App's thread at start-up.
#pragma once

#include <memory>

#include "admin/admin_config.h"
#include "admin/admin_portal.h"
#include "common/result.h"

namespace sg::app {

// `local_socket`: the admin socket of the portal in this process, "" when none.
Result<std::unique_ptr<admin::PortalAdminApi>> ConnectPortalAdmin(
    const admin::AdminApiConfig::Portal& link, const std::string& local_socket);

}  // namespace sg::app
