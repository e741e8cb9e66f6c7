// The portal's templates (kainjow mustache, Debian libkainjow-mustache-dev):
// the web pages, the mails (notification, reset link, registration code)
// per language, and the page strings per language. HTML is only ever made by
// rendering a template with escaped values ({{name}}); the one exception is
// HTML that the sanitizer rebuilt (portal_sanitize.h) or that another
// template rendered, passed as {{{name}}}.
//
// Names are paths below portal/templates/ (built into the binary):
//   web/<page>.html          pages (language-neutral; strings from {{t.key}})
//   web/style.css            the stylesheet; brand colours come from web/brand.css
//   mail/<lang>/<kind>.subject|.txt|.html   mails, lang en or de
//   strings/<lang>.json      page strings
// A hosted domain's templates directory (portal.domains[].templates) may
// hold any of the same paths (with ".mustache" appended for templates);
// those win for that domain, and its strings/<lang>.json is merged over the
// built-in strings. Every template is parsed at start-up: a broken override
// stops the start with the file named.
//
// Threading: thread-safe after Load (rendering parses into a local object).
#pragma once

#include <kainjow/mustache.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "portal/portal_config.h"

namespace sg::portal {

namespace mustache = kainjow::mustache;

// Every file under portal/templates/, by relative path (generated).
const std::map<std::string, std::string_view>& BuiltinTemplates();

class Templates {
 public:
  static Result<std::unique_ptr<Templates>> Load(const PortalConfig& config);

  // Renders `name` ("web/login.html", "mail/de/notify.txt") for `domain`.
  // HTML templates escape values; .txt and .subject templates do not.
  // kNotFound for an unknown name.
  Result<std::string> Render(const std::string& domain, const std::string& name,
                             const mustache::data& data) const;
  // The page strings of `lang` for `domain` (an object for {{t.key}}).
  const mustache::data& Strings(const std::string& domain, const std::string& lang) const;
  // One string, for messages built outside a template (errors, titles).
  std::string String(const std::string& domain, const std::string& lang,
                     const std::string& key) const;
  // A file that is not a template (web/style.css), as is.
  Result<std::string> File(const std::string& name) const;

  static const std::vector<std::string>& Languages();

 private:
  struct Set {
    std::map<std::string, std::string> templates;  // name -> source
    std::map<std::string, std::map<std::string, std::string>> strings;  // lang -> key -> text
    std::map<std::string, mustache::data> strings_data;
  };
  const Set& For(const std::string& domain) const;

  Set builtin_;
  std::map<std::string, Set> domains_;
};

}  // namespace sg::portal
