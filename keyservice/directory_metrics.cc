#include "keyservice/directory_metrics.h"

namespace sg::keyservice {

DirectoryMetrics::DirectoryMetrics(metrics::Registry& registry)
    : runs(registry.AddCounter("smimegate_directory_runs_total",
                               "Directory sync runs, by source and outcome",
                               {"source", "outcome"})),
      changes(registry.AddCounter("smimegate_directory_changes_total",
                                  "User changes applied by directory sync, by source and kind",
                                  {"source", "kind"})),
      failures(registry.AddCounter("smimegate_directory_failures_total",
                                   "Directory sync runs that failed, by source", {"source"})),
      run_seconds(registry.AddHistogram("smimegate_directory_run_seconds",
                                        "Duration of a directory sync run", {"source"},
                                        {0.1, 0.5, 1, 5, 15, 60, 300, 900})),
      guard_tripped(registry.AddGauge("smimegate_directory_guard_tripped",
                                      "1 while the last run of a source stopped at the "
                                      "mass-removal guard",
                                      {"source"})),
      domain_users(registry.AddGauge("smimegate_directory_domain_users",
                                     "Users of a hosted domain in its directory "
                                     "(kind directory) and of them participating",
                                     {"domain", "kind"})),
      last_success(registry.AddGauge("smimegate_directory_last_success_timestamp_seconds",
                                     "Unix time of the last directory sync run without error",
                                     {"source"})) {}

}  // namespace sg::keyservice
