// The process a KEK rotation is killed in (kek_test.cc,
// KekRotationSurvivesSigkillMidway): opens the keyservice store in DIR with
// the new KEK (DIR/kek_b) and the old one as previous (DIR/kek_a), starts
// `RotateKek`, and after re-sealing PAUSE_AT keys prints "paused" and waits
// to be killed with SIGKILL. Prints "done" if the rotation finishes first.
//
// Usage: kek_rotate_child DIR PAUSE_AT
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::string dir = argv[1];
  uint32_t pause_at = static_cast<uint32_t>(std::atoi(argv[2]));
  auto config = sg::keyservice::testing::TestConfig(dir);
  config.kek_create = false;
  config.kek_file = dir + "/kek_b";
  config.kek_previous_file = dir + "/kek_a";
  sg::metrics::Registry registry;
  sg::SystemClock clock;
  auto ks = sg::keyservice::KeyServiceImpl::Open(config, {"example.com"}, registry, clock);
  if (!ks.ok()) {
    std::fprintf(stdout, "open failed: %s\n", ks.error().ToString().c_str());
    return 1;
  }
  auto r = (*ks)->RotateKek([&](uint32_t resealed) {
    if (resealed == pause_at) {
      std::fprintf(stdout, "paused\n");
      std::fflush(stdout);
      for (;;) pause();  // until SIGKILL
    }
  });
  std::fprintf(stdout, "%s\n", r.ok() ? "done" : r.error().ToString().c_str());
  return r.ok() ? 0 : 1;
}
