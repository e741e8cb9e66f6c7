#include "common/ldap/ldap_filter.h"

#include <ldap.h>

namespace sg::ldap {

Result<std::string> FilterFor(const std::string& filter_template, const std::string& value) {
  berval in{};
  in.bv_val = const_cast<char*>(value.data());
  in.bv_len = value.size();
  berval out{};
  if (ldap_bv2escaped_filter_value(&in, &out) != 0 || out.bv_val == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "ldap: cannot escape the address for a filter");
  }
  const std::string escaped(out.bv_val, out.bv_len);
  ber_memfree(out.bv_val);
  std::string filter;
  for (size_t i = 0; i < filter_template.size(); ++i) {
    if (filter_template.compare(i, 2, "%s") == 0) {
      filter += escaped;
      ++i;
    } else {
      filter += filter_template[i];
    }
  }
  return filter;
}

std::string FilterTemplateProblem(const std::string& filter_template) {
  if (filter_template.find("%s") == std::string::npos) {
    return "must contain %s (where the escaped address goes)";
  }
  int depth = 0;
  for (const char ch : filter_template) {
    depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (filter_template.front() != '(' || depth != 0) {
    return "must be one parenthesised RFC 4515 filter, e.g. (mail=%s)";
  }
  return "";
}

}  // namespace sg::ldap
