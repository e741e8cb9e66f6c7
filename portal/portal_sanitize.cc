#include "portal/portal_sanitize.h"

#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <string>

#include "common/ascii.h"

namespace sg::portal {
namespace {

const std::set<std::string, std::less<>>& AllowedElements() {
  static const std::set<std::string, std::less<>> k = {
      "a",      "abbr",   "address", "article", "b",     "bdi",     "bdo",   "big",    "blockquote",
      "br",     "caption", "center", "cite",    "code",  "col",     "colgroup", "dd", "del",
      "details", "dfn",   "div",     "dl",      "dt",    "em",      "figcaption", "figure", "font",
      "footer", "h1",     "h2",      "h3",      "h4",    "h5",      "h6",    "header", "hr",
      "i",      "img",    "ins",     "kbd",     "li",    "main",    "mark",  "ol",     "p",
      "pre",    "q",      "s",       "samp",    "section", "small", "span",  "strike", "strong",
      "sub",    "summary", "sup",    "table",   "tbody", "td",      "tfoot", "th",     "thead",
      "time",   "tr",     "tt",      "u",       "ul",    "var",     "wbr"};
  return k;
}

// Gone with everything inside them.
const std::set<std::string, std::less<>>& DroppedElements() {
  static const std::set<std::string, std::less<>> k = {
      "script", "style",  "noscript", "iframe", "frame",  "frameset", "object", "embed",
      "applet", "template", "svg",    "math",   "head",   "title",    "meta",   "link",
      "base",   "form",   "input",    "button", "select", "textarea", "option", "optgroup",
      "audio",  "video",  "source",   "track",  "canvas", "noembed",  "noframes", "xmp",
      "plaintext", "param", "dialog", "picture", "map",   "area",     "portal", "datalist",
      "output", "progress", "meter",  "slot"};
  return k;
}

const std::set<std::string, std::less<>>& VoidElements() {
  static const std::set<std::string, std::less<>> k = {"br", "hr", "img", "col", "wbr"};
  return k;
}

const std::set<std::string, std::less<>>& AllowedAttributes() {
  static const std::set<std::string, std::less<>> k = {
      "title", "lang",  "dir",    "align",  "valign", "width",   "height",  "bgcolor", "color",
      "face",  "size",  "border", "cellpadding", "cellspacing", "colspan", "rowspan", "nowrap",
      "alt",   "start", "type",   "datetime", "abbr", "scope",   "span",    "reversed"};
  return k;
}

const std::set<std::string, std::less<>>& AllowedCssProperties() {
  static const std::set<std::string, std::less<>> k = {
      "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
      "font-variant", "text-align", "text-decoration", "text-transform", "text-indent",
      "line-height", "letter-spacing", "word-spacing", "white-space", "vertical-align",
      "margin", "margin-top", "margin-right", "margin-bottom", "margin-left", "padding",
      "padding-top", "padding-right", "padding-bottom", "padding-left", "border", "border-top",
      "border-right", "border-bottom", "border-left", "border-color", "border-style",
      "border-width", "border-collapse", "border-spacing", "border-radius", "width", "height",
      "max-width", "min-width", "max-height", "min-height", "display", "list-style-type",
      "table-layout", "direction", "word-break", "overflow-wrap"};
  return k;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= 0x20) --e;
  return std::string(s.substr(b, e - b));
}

// What a browser makes of a URL attribute before it looks at the scheme:
// surrounding whitespace and control characters go, tabs and line breaks
// inside are removed (WHATWG URL parser).
std::string UrlAsBrowserSeesIt(std::string_view raw) {
  std::string out = Trim(raw);
  std::erase_if(out, [](char c) { return c == '\t' || c == '\n' || c == '\r'; });
  return out;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && AsciiLower(s.substr(0, prefix.size())) == prefix;
}

std::optional<std::string> SafeCssValue(std::string_view value) {
  std::string v = AsciiLower(Trim(value));
  for (std::string_view bad : {"url", "expression", "\\", "/*", "*/", "@", "<", ">", "javascript",
                               "behavior", "binding", "&", "{", "}", "\"", "'", "image"}) {
    if (v.find(bad) != std::string::npos) return std::nullopt;
  }
  std::string rest = v;
  for (std::string_view fn : {"rgba(", "rgb(", "hsla(", "hsl("}) {
    for (size_t at; (at = rest.find(fn)) != std::string::npos;) rest.erase(at, fn.size());
  }
  if (rest.find('(') != std::string::npos) return std::nullopt;
  if (v.empty()) return std::nullopt;
  return v;
}

std::string SanitizeStyle(std::string_view style) {
  std::string out;
  size_t start = 0;
  while (start <= style.size()) {
    size_t end = style.find(';', start);
    if (end == std::string_view::npos) end = style.size();
    std::string_view decl = style.substr(start, end - start);
    start = end + 1;
    size_t colon = decl.find(':');
    if (colon == std::string_view::npos) continue;
    std::string prop = AsciiLower(Trim(decl.substr(0, colon)));
    if (AllowedCssProperties().count(prop) == 0) continue;
    auto value = SafeCssValue(decl.substr(colon + 1));
    if (!value) continue;
    if (prop == "display" && *value != "none" && *value != "block" && *value != "inline" &&
        *value != "inline-block" && *value != "table" && *value != "table-cell" &&
        *value != "table-row") {
      continue;
    }
    if (!out.empty()) out += "; ";
    out += prop + ": " + *value;
  }
  return out;
}

void AppendAttribute(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  out += EscapeHtml(value);
  out += '"';
}

class Writer {
 public:
  Writer(const SanitizeOptions& options, SanitizeResult& result)
      : options_(options), result_(result) {}

  void Children(const GumboVector& children, size_t depth) {
    for (unsigned i = 0; i < children.length; ++i) {
      Node(static_cast<const GumboNode*>(children.data[i]), depth);
    }
  }

 private:
  static constexpr size_t kMaxDepth = 256;

  void Node(const GumboNode* node, size_t depth) {
    switch (node->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA:
        result_.html += EscapeHtml(node->v.text.text);
        return;
      case GUMBO_NODE_ELEMENT:
        Element(node->v.element, depth);
        return;
      default:
        return;  // comments, templates, documents
    }
  }

  void Element(const GumboElement& e, size_t depth) {
    if (depth > kMaxDepth) return;
    if (e.tag_namespace != GUMBO_NAMESPACE_HTML) return;  // SVG, MathML
    std::string name;
    if (e.tag == GUMBO_TAG_UNKNOWN) {
      GumboStringPiece original = e.original_tag;
      gumbo_tag_from_original_text(&original);
      name = AsciiLower(std::string_view(original.data, original.length));
    } else {
      name = gumbo_normalized_tagname(e.tag);
    }
    if (DroppedElements().count(name) != 0) return;
    if (AllowedElements().count(name) == 0) {
      Children(e.children, depth + 1);  // unknown: keep the text
      return;
    }
    std::string open = "<" + name;
    for (unsigned i = 0; i < e.attributes.length; ++i) {
      const auto* a = static_cast<const GumboAttribute*>(e.attributes.data[i]);
      Attribute(open, name, AsciiLower(a->name), a->value);
    }
    if (name == "a") {
      AppendAttribute(open, "target", "_blank");
      AppendAttribute(open, "rel", "noopener noreferrer");
    }
    result_.html += open + ">";
    if (VoidElements().count(name) != 0) return;
    Children(e.children, depth + 1);
    result_.html += "</" + name + ">";
  }

  void Attribute(std::string& out, const std::string& element, const std::string& name,
                 std::string_view value) {
    if (name == "style") {
      std::string css = SanitizeStyle(value);
      if (!css.empty()) AppendAttribute(out, "style", css);
    } else if (element == "a" && name == "href") {
      std::string url = UrlAsBrowserSeesIt(value);
      if (StartsWithNoCase(url, "https://") || StartsWithNoCase(url, "http://") ||
          StartsWithNoCase(url, "mailto:")) {
        AppendAttribute(out, "href", url);
      }
    } else if (element == "img" && name == "src") {
      ImageSource(out, UrlAsBrowserSeesIt(value));
    } else if (AllowedAttributes().count(name) != 0) {
      AppendAttribute(out, name, value);
    }
  }

  void ImageSource(std::string& out, const std::string& url) {
    if (StartsWithNoCase(url, "cid:")) {
      if (options_.inline_image) {
        if (auto data = options_.inline_image(url.substr(4))) AppendAttribute(out, "src", *data);
      }
    } else if (StartsWithNoCase(url, "data:image/png;base64,") ||
               StartsWithNoCase(url, "data:image/jpeg;base64,") ||
               StartsWithNoCase(url, "data:image/gif;base64,") ||
               StartsWithNoCase(url, "data:image/webp;base64,")) {
      AppendAttribute(out, "src", url);
    } else if (StartsWithNoCase(url, "https://") || StartsWithNoCase(url, "http://")) {
      if (options_.allow_remote) {
        AppendAttribute(out, "src", url);
      } else {
        ++result_.blocked_remote;
      }
    }
  }

  const SanitizeOptions& options_;
  SanitizeResult& result_;
};

const GumboNode* FindBody(const GumboNode* root) {
  if (root == nullptr || root->type != GUMBO_NODE_ELEMENT) return nullptr;
  const GumboVector& children = root->v.element.children;
  for (unsigned i = 0; i < children.length; ++i) {
    const auto* child = static_cast<const GumboNode*>(children.data[i]);
    if (child->type == GUMBO_NODE_ELEMENT && child->v.element.tag == GUMBO_TAG_BODY) return child;
  }
  return nullptr;
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\0': break;
      default: out += c;
    }
  }
  return out;
}

SanitizeResult SanitizeHtml(std::string_view html, const SanitizeOptions& options) {
  SanitizeResult result;
  if (html.size() > options.max_input ||
      static_cast<size_t>(std::count(html.begin(), html.end(), '<')) > options.max_tags) {
    return result;
  }
  GumboOutput* output = gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size());
  if (output == nullptr) return result;
  if (const GumboNode* body = FindBody(output->root)) {
    Writer(options, result).Children(body->v.element.children, 0);
    result.shown = true;
  }
  gumbo_destroy_output(&kGumboDefaultOptions, output);
  return result;
}

}  // namespace sg::portal
