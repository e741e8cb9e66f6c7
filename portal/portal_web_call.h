// One request as the portal's page handlers see it (portal_web_*.cc only).
#pragma once

#include <httplib.h>

#include <optional>
#include <string>

#include "portal/portal_sessions.h"
#include "portal/portal_web.h"

namespace sg::portal {

struct PortalWeb::Call {
  const httplib::Request& req;
  httplib::Response& res;
  std::optional<LiveSession> session;
  std::string ip;
  std::string lang = "en";
  std::string brand;  // the hosted domain whose branding applies; "" = defaults
  std::string notice;  // shown above the page (a strings key, already translated)

  // A query or form parameter ("" when absent). In a multipart/form-data
  // body (the reply and certificate forms) httplib 0.11 puts every part in
  // req.files, text fields too: a part without a filename is a text field.
  // A file part is never a parameter (it is read with req.get_file_value).
  std::string Param(const std::string& name) const {
    if (req.has_param(name.c_str())) return req.get_param_value(name.c_str());
    if (req.is_multipart_form_data() && req.has_file(name.c_str())) {
      const auto part = req.get_file_value(name.c_str());
      if (part.filename.empty()) return part.content;
    }
    return {};
  }
  // The n-th capture group of the route pattern.
  std::string Match(size_t n) const { return n < req.matches.size() ? req.matches[n].str() : ""; }
  bool logged_in() const { return session && session->logged_in(); }
  const std::string& address() const { return session->data.address(); }
};

}  // namespace sg::portal
