// RFC 4515 filters built from a template and an untrusted value (an email
// address from an SMTP envelope): the value goes in through OpenLDAP's own
// escaping (ldap_bv2escaped_filter_value), so `*`, `(`, `)`, `\` and NUL
// are searched for literally and can never widen or end the filter.
//
// Threading: pure functions.
#pragma once

#include <string>

#include "common/result.h"

namespace sg::ldap {

// `filter_template` with every "%s" replaced by the RFC 4515-escaped
// `value`. kInvalidArgument only when libldap cannot escape it.
Result<std::string> FilterFor(const std::string& filter_template, const std::string& value);

// "" when `filter_template` is usable (one parenthesised filter with
// balanced parentheses and at least one %s), else why not (for an error
// naming the config key).
std::string FilterTemplateProblem(const std::string& filter_template);

}  // namespace sg::ldap
