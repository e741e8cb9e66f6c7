// Conversion of usage reports and message-counter batches between
// keyservice/usage_report.h and proto/keyservice.proto (server and client).
//
// Threading: pure functions.
#pragma once

#include "keyservice/usage_report.h"
#include "proto/keyservice.pb.h"

namespace sg::keyservice {

void UsageReportToPb(const UsageReport& r, smimegate::keyservice::v1::UsageReportResponse* out);
UsageReport UsageReportFromPb(const smimegate::keyservice::v1::UsageReportResponse& r);
void UsageMessagesToPb(const UsageMessages& m, smimegate::keyservice::v1::UsageMessagesRequest* out);
UsageMessages UsageMessagesFromPb(const smimegate::keyservice::v1::UsageMessagesRequest& m);

}  // namespace sg::keyservice
