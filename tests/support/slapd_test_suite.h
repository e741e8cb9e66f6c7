// SuiteSlapd: one test slapd (slapd_test_server.h) for a whole gtest suite,
// in a temp dir of its own, the way every LDAP test shares one:
//
//   static void SetUpTestSuite() { slapd_.Start(Options()); }
//   static void TearDownTestSuite() { slapd_.Stop(); }
//   void SetUp() override { SG_REQUIRE_TEST_SLAPD(slapd_, "LDAP lookups are not tested"); }
//   static sg::testing::SuiteSlapd slapd_;   // slapd_->ldap_url(), ...
//
// A test is skipped, saying what goes untested, only when slapd is not
// installed; installed but not set up is a failure.
//
// Threading: gtest's set-up thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "tests/support/slapd_test_server.h"
#include "tests/support/temp_dir.h"

namespace sg::testing {

class SuiteSlapd {
 public:
  // In SetUpTestSuite: sets slapd up and starts it; nothing when slapd is
  // not installed.
  void Start(SlapdOptions options) {
    installed_ = SlapdTestServer::Installed();
    if (!installed_) return;
    dir_ = std::make_unique<TempDir>();
    server_ = std::make_unique<SlapdTestServer>(dir_->path(), std::move(options));
    if (!server_->Setup()) server_.reset();
  }
  // In TearDownTestSuite: stops slapd and removes its directory.
  void Stop() {
    server_.reset();
    dir_.reset();
  }

  bool installed() const { return installed_; }
  bool running() const { return server_ != nullptr; }
  SlapdTestServer* operator->() const { return server_.get(); }

 private:
  bool installed_ = false;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<SlapdTestServer> server_;
};

}  // namespace sg::testing

// In a fixture's SetUp: skips the test (naming what goes `untested`) when
// slapd is not installed, fails it when slapd is installed but not running.
#define SG_REQUIRE_TEST_SLAPD(suite, untested)                                                 \
  do {                                                                                         \
    if (!(suite).installed()) {                                                                \
      GTEST_SKIP() << "slapd is not installed (Debian packages slapd, ldap-utils; "            \
                      "scripts/setup-deps.sh): "                                               \
                   << (untested);                                                              \
    }                                                                                          \
    if (!(suite).running()) FAIL() << "slapd is installed but could not be set up (see above)"; \
  } while (false)
