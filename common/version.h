// The version of this build: the CMake project version and `git describe`
// of the source tree at build time (common/version_stamp.cmake writes it on
// every build, so a new commit or a dirty tree shows without a re-configure).
//
// Threading: constants; safe from any thread. No errors: a tree that is not
// a git checkout (a source tarball) reports "unknown" as its git version.
#pragma once

#include <string>
#include <string_view>

namespace sg {

// "0.1.0", from project(smimegate VERSION ...).
std::string_view ProjectVersion();
// `git describe --tags --always --dirty` at build time, e.g. "v0.1.0-12-gabc1234-dirty"
// or "abc1234"; "unknown" outside a git checkout.
std::string_view GitDescribe();
// The line --version prints: "smimegate 0.1.0 (git abc1234)".
std::string VersionLine(std::string_view program);

}  // namespace sg
