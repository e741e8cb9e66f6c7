#include "common/version.h"

namespace sg {

std::string VersionLine(std::string_view program) {
  std::string line(program);
  line += ' ';
  line += ProjectVersion();
  line += " (git ";
  line += GitDescribe();
  line += ')';
  return line;
}

}  // namespace sg
