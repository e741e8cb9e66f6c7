#include "common/mail/date.h"

#include <ctime>

namespace sg::mail {

std::string Rfc5322Date(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace sg::mail
