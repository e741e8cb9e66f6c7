// The HTML sanitizer against stored-XSS vectors: scripts, event handlers,
// javascript: URLs (also obfuscated), SVG, CSS expressions and url(),
// remote images; and what it must keep.
#include "portal/portal_sanitize.h"

#include <gtest/gtest.h>
#include <gumbo.h>

#include "common/ascii.h"

namespace sg::portal {
namespace {

std::string Clean(std::string_view html, bool remote = false) {
  SanitizeOptions options;
  options.allow_remote = remote;
  SanitizeResult r = SanitizeHtml(html, options);
  EXPECT_TRUE(r.shown);
  return r.html;
}

// What a browser builds from the output (the same HTML5 parsing
// algorithm): no element or attribute that runs code or loads anything.
void ExpectInertTree(const GumboNode* node, const std::string& out) {
  if (node->type != GUMBO_NODE_ELEMENT) return;
  const GumboElement& e = node->v.element;
  const std::string tag = gumbo_normalized_tagname(e.tag);
  for (const char* bad : {"script", "svg", "math", "iframe", "object", "embed", "style", "form",
                          "input", "meta", "link", "base", "frame", "frameset", "noscript"}) {
    EXPECT_NE(tag, bad) << out;
  }
  EXPECT_EQ(e.tag_namespace, GUMBO_NAMESPACE_HTML) << out;
  for (unsigned i = 0; i < e.attributes.length; ++i) {
    const auto* a = static_cast<const GumboAttribute*>(e.attributes.data[i]);
    const std::string name = AsciiLower(a->name);
    const std::string value = AsciiLower(a->value);
    EXPECT_NE(name.rfind("on", 0), 0u) << "event handler " << name << " in: " << out;
    EXPECT_NE(name, "srcdoc") << out;
    EXPECT_NE(name, "background") << out;
    if (name == "href" || name == "src" || name == "action" || name == "formaction") {
      EXPECT_TRUE(value.rfind("https://", 0) == 0 || value.rfind("http://", 0) == 0 ||
                  value.rfind("mailto:", 0) == 0 || value.rfind("data:image/png", 0) == 0 ||
                  value.rfind("data:image/jpeg", 0) == 0 || value.rfind("data:image/gif", 0) == 0)
          << name << "=" << value << " in: " << out;
    }
    if (name == "style") {
      EXPECT_EQ(value.find("url("), std::string::npos) << out;
      EXPECT_EQ(value.find("expression("), std::string::npos) << out;
    }
  }
  for (unsigned i = 0; i < e.children.length; ++i) {
    ExpectInertTree(static_cast<const GumboNode*>(e.children.data[i]), out);
  }
}

// Nothing that executes or loads survives, whatever the case.
void ExpectInert(const std::string& out) {
  GumboOutput* parsed = gumbo_parse_with_options(&kGumboDefaultOptions, out.data(), out.size());
  ExpectInertTree(parsed->root, out);
  gumbo_destroy_output(&kGumboDefaultOptions, parsed);
  EXPECT_EQ(AsciiLower(out).find("evil.example"), std::string::npos) << out;
}

TEST(PortalSanitize, XssVectorsComeOutInert) {
  const char* vectors[] = {
      "<script>alert(1)</script>",
      "<SCRIPT SRC=http://evil.example/x.js></SCRIPT>",
      "<img src=x onerror=alert(1)>",
      "<IMG SRC=\"javascript:alert('XSS');\">",
      "<a href=\"javascript:alert(1)\">x</a>",
      "<a href=\"  JaVaScRiPt:alert(1)\">x</a>",
      "<a href=\"java\tscript:alert(1)\">x</a>",
      "<a href=\"java&#x0A;script:alert(1)\">x</a>",
      "<a href=\"&#106;avascript:alert(1)\">x</a>",
      "<a href=\"vbscript:msgbox(1)\">x</a>",
      "<svg onload=alert(1)><circle r=1></svg>",
      "<svg><script>alert(1)</script></svg>",
      "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
      "<div style=\"width: expression(alert(1))\">x</div>",
      "<div style=\"background: url(http://evil.example/t.png)\">x</div>",
      "<div style=\"background:u\\72l(http://evil.example/t.png)\">x</div>",
      "<style>body{background:url(http://evil.example/x)}</style>",
      "<iframe src=\"http://evil.example\"></iframe>",
      "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
      "<object data=\"http://evil.example/x.swf\"></object>",
      "<embed src=\"http://evil.example/x.swf\">",
      "<form action=\"http://evil.example\"><input name=p></form>",
      "<meta http-equiv=\"refresh\" content=\"0;url=http://evil.example\">",
      "<link rel=stylesheet href=\"http://evil.example/x.css\">",
      "<base href=\"http://evil.example/\">",
      "<body onload=alert(1)>text</body>",
      "<p onclick=\"alert(1)\" onmouseover=alert(2)>p</p>",
      "<img src=\"http://evil.example/track.gif\">",
      "<table background=\"http://evil.example/x.png\"><tr><td>x</td></tr></table>",
      "<!--<img src=x onerror=alert(1)>-->",
      "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
      "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
      "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
  };
  for (const char* v : vectors) {
    SCOPED_TRACE(v);
    const std::string out = Clean(v);
    ExpectInert(out);
    EXPECT_EQ(AsciiLower(out).find("data:text"), std::string::npos) << out;
    EXPECT_EQ(AsciiLower(out).find("data:image/svg"), std::string::npos) << out;
  }
}

TEST(PortalSanitize, KeepsFormattingLinksAndSafeStyles) {
  const std::string out = Clean(
      "<p style=\"color: #ff0000; font-weight: bold; position: fixed\">Hi <b>there</b></p>"
      "<ul><li>one</li></ul><a href=\"https://example.org/x?a=1&b=2\">link</a>"
      "<a href=\"mailto:alice@corp.example\">mail</a>");
  EXPECT_NE(out.find("<b>there</b>"), std::string::npos) << out;
  EXPECT_NE(out.find("<li>one</li>"), std::string::npos) << out;
  EXPECT_NE(out.find("color: #ff0000"), std::string::npos) << out;
  EXPECT_EQ(out.find("position"), std::string::npos) << out;
  EXPECT_NE(out.find("href=\"https://example.org/x?a=1&amp;b=2\""), std::string::npos) << out;
  EXPECT_NE(out.find("rel=\"noopener noreferrer\""), std::string::npos) << out;
  EXPECT_NE(out.find("href=\"mailto:alice@corp.example\""), std::string::npos) << out;
}

TEST(PortalSanitize, TextIsEscapedAndUnknownElementsKeepTheirText) {
  const std::string out = Clean("<custom-tag>a &lt;b&gt; &amp; \"q\"</custom-tag>");
  EXPECT_EQ(out.find("custom-tag"), std::string::npos) << out;
  EXPECT_NE(out.find("a &lt;b&gt; &amp;"), std::string::npos) << out;
}

TEST(PortalSanitize, RemoteImagesOnlyWhenAllowedAndCounted) {
  const std::string html = "<img src=\"https://images.example/a.png\" alt=\"a\">";
  SanitizeOptions blocked;
  SanitizeResult r = SanitizeHtml(html, blocked);
  EXPECT_EQ(r.blocked_remote, 1u);
  EXPECT_EQ(r.html.find("images.example"), std::string::npos) << r.html;
  SanitizeOptions allowed;
  allowed.allow_remote = true;
  r = SanitizeHtml(html, allowed);
  EXPECT_EQ(r.blocked_remote, 0u);
  EXPECT_NE(r.html.find("https://images.example/a.png"), std::string::npos) << r.html;
}

TEST(PortalSanitize, InlineImagesBecomeDataUris) {
  SanitizeOptions options;
  options.inline_image = [](const std::string& cid) -> std::optional<std::string> {
    if (cid == "logo@corp") return std::string("data:image/png;base64,iVBORw0KGgo=");
    return std::nullopt;
  };
  SanitizeResult r = SanitizeHtml("<img src=\"cid:logo@corp\"><img src=\"cid:other\">", options);
  EXPECT_NE(r.html.find("src=\"data:image/png;base64,iVBORw0KGgo=\""), std::string::npos)
      << r.html;
  EXPECT_EQ(r.html.find("cid:"), std::string::npos) << r.html;
}

TEST(PortalSanitize, TooLargeOrTooComplexIsNotShown) {
  SanitizeOptions options;
  options.max_input = 100;
  EXPECT_FALSE(SanitizeHtml(std::string(101, 'a'), options).shown);
  SanitizeOptions tags;
  tags.max_tags = 10;
  std::string deep;
  for (int i = 0; i < 11; ++i) deep += "<div>";
  EXPECT_FALSE(SanitizeHtml(deep, tags).shown);
  // Deep nesting within the limits is cut, not a crash.
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "<b>";
  EXPECT_TRUE(SanitizeHtml(nested + "x", SanitizeOptions{}).shown);
}

TEST(PortalSanitize, EscapeHtml) {
  EXPECT_EQ(EscapeHtml("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace sg::portal
