// HTML mail made safe to show (docs/portal.md "HTML mail"): parsed with a
// real HTML5 parser (gumbo, the algorithm browsers use, so what we check is
// what the browser would build), then rebuilt from an allow-list.
//
//   - elements: text formatting, lists, tables, links, images; script,
//     style, iframe, object, embed, form controls, SVG and MathML go with
//     their content; unknown elements are unwrapped (their text stays);
//   - attributes: a fixed list per element; no event handlers, no id/class;
//     style only with allow-listed properties and values without url(),
//     expression(), comments, escapes or at-rules;
//   - links: http, https and mailto only, opened in a new tab without a
//     referrer; images: inline parts (cid:) and data:image/png|jpeg|gif|webp
//     become data: URIs; remote (http/https) images only when the reader
//     allowed remote content for this message, else counted as blocked.
// The page that shows the result is served with its own Content-Security-
// Policy in a sandboxed iframe, so a mistake here is still contained.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sg::portal {

struct SanitizeOptions {
  bool allow_remote = false;
  // The data: URI of the inline part with this Content-ID, if any.
  std::function<std::optional<std::string>(const std::string& content_id)> inline_image;
  size_t max_input = 2u << 20;  // larger HTML is not shown (the text part and download remain)
  size_t max_tags = 20000;      // more '<' than this: not shown (deep trees, parser cost)
};

struct SanitizeResult {
  bool shown = false;          // false: too large or complex to show
  std::string html;            // the body's content, safe to embed
  size_t blocked_remote = 0;   // remote images left out
};

SanitizeResult SanitizeHtml(std::string_view html, const SanitizeOptions& options);

// Escapes text for HTML element content and attribute values.
std::string EscapeHtml(std::string_view text);

}  // namespace sg::portal
