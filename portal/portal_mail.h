// The mails the portal writes: the notification to a recipient (a one-time
// link to the message), the password-reset link, and the registration code
// for the sender to pass on. Each is multipart/alternative (text and HTML)
// from the templates mail/<lang>/<kind>.subject|.txt|.html of the sending
// domain (portal_templates.h), assembled by GMime (headers encoded, never
// concatenated).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "portal/portal_config.h"
#include "portal/portal_templates.h"

namespace sg::portal {

struct MailHeaders {
  std::string from;               // address
  std::string from_name;          // display name; may be empty
  std::string to;                 // address
  int64_t date_unix = 0;
  std::string message_id_domain;  // right side of the Message-ID
  std::string kind;               // notification | reset | code (X-Smimegate-Portal)
};

// `data` gets the domain's branding added (product_name, primary_color,
// background_color, text_color) before the three templates render.
Result<std::string> ComposeMail(const Templates& templates, const DomainSettings& domain,
                                const std::string& lang, mustache::data data,
                                const MailHeaders& headers);

}  // namespace sg::portal
