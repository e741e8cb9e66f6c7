// smimegatectl directory sync|status (ctl_directory.cc), and the sync call
// `user import --sync` shares (ctl_user.cc).
#pragma once

#include "cmd/smimegatectl/ctl.h"
#include "proto/directory.pb.h"

namespace sg::ctl {

// Runs one DirectorySync call and prints its changes, warnings, guard
// message and errors. Exit code: 0 applied (or planned, dry run) without
// error, 1 refused, the guard tripped or a change failed, 2/3 as Fail().
int RunDirectorySync(ks::KeyServiceClient& client,
                     const smimegate::keyservice::v1::DirectorySyncRequest& request, int timeout_s);

// --max-disable-percent N (stored in |percent|, -1 when absent) and its
// request fields.
void AddGuardOverride(CLI::App& command, int& percent);
void SetGuardOverride(smimegate::keyservice::v1::DirectorySyncRequest& request, int percent);

void AddDirectoryCommands(CLI::App& app, Ctl& ctl);

}  // namespace sg::ctl
