#include "workers/dkim/dkim_decision.h"

#include <string>

namespace sg::dkim {

Result<DkimSignMode> ParseDkimSignMode(std::string_view text) {
  if (text == "off") return DkimSignMode::kOff;
  if (text == "modified") return DkimSignMode::kModified;
  if (text == "all") return DkimSignMode::kAll;
  return MakeError(ErrorCode::kInvalidArgument,
                   "DKIM sign mode \"" + std::string(text) + "\": use off, modified or all");
}

std::string_view DkimVerdictName(DkimVerdict verdict) {
  switch (verdict) {
    case DkimVerdict::kSign:
      return "signed";
    case DkimVerdict::kOff:
      return "off";
    case DkimVerdict::kUnmodified:
      return "unmodified";
    case DkimVerdict::kNoFrom:
      return "no_from";
    case DkimVerdict::kNoKey:
      return "no_key";
  }
  return "unknown";
}

bool WantsDkim(DkimSignMode mode, bool modified) {
  return mode == DkimSignMode::kAll || (mode == DkimSignMode::kModified && modified);
}

DkimVerdict DecideDkim(DkimSignMode mode, bool modified, bool has_from_domain, bool has_key) {
  if (mode == DkimSignMode::kOff) return DkimVerdict::kOff;
  if (!WantsDkim(mode, modified)) return DkimVerdict::kUnmodified;
  if (!has_from_domain) return DkimVerdict::kNoFrom;
  if (!has_key) return DkimVerdict::kNoKey;
  return DkimVerdict::kSign;
}

}  // namespace sg::dkim
