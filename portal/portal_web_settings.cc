// The portal's settings (TOTP, the reader's S/MIME certificate, language)
// and its static files (portal_web.h).
#include <qrencode.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "portal/portal_crypto.h"
#include "portal/portal_smime.h"
#include "portal/portal_totp.h"
#include "portal/portal_web.h"
#include "portal/portal_web_call.h"

namespace sg::portal {
namespace {

std::string PendingAad(const std::string& address) { return "pending-totp:" + address; }

// The QR code of `text` as SVG: one path of unit squares, nothing else.
std::string QrSvg(const std::string& text) {
  QRcode* qr = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (qr == nullptr) return {};
  const int w = qr->width;
  const int size = w + 8;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << size << " " << size
      << "\" shape-rendering=\"crispEdges\"><rect width=\"" << size << "\" height=\"" << size
      << "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  for (int y = 0; y < w; ++y) {
    for (int x = 0; x < w; ++x) {
      if (qr->data[y * w + x] & 1) svg << "M" << (x + 4) << " " << (y + 4) << "h1v1h-1z";
    }
  }
  svg << "\"/></svg>";
  QRcode_free(qr);
  return svg.str();
}

}  // namespace

void PortalWeb::Settings(Call& call) {
  auto account = d_.vault.store().GetAccount(call.address());
  if (!account.ok() || !account->has_value()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  const pb::Account& a = **account;
  mustache::data data;
  data.set("title", Text(call, "settings"));
  data.set("totp_enabled", !a.sealed_totp_secret().empty());
  if (!a.certificate_der().empty()) {
    auto info = CheckRecipientCertificate(a.certificate_der(), a.address(), d_.clock.NowMs() / 1000);
    data.set("certificate", info.ok() ? info->subject + " (" + info->not_after + ")"
                                      : std::string("(expired)"));
  }
  data.set("lang_en", call.lang == "en");
  data.set("lang_de", call.lang == "de");
  Render(call, "settings", data);
}

void PortalWeb::TotpStart(Call& call) {
  // A secret in place is not replaced: it is turned off first (with a code).
  auto account = d_.vault.store().GetAccount(call.address());
  if (!account.ok() || !account->has_value()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  if (!(*account)->sealed_totp_secret().empty()) {
    call.notice = Text(call, "totp_already_on");
    call.res.status = 409;
    Settings(call);
    call.res.status = 409;
    return;
  }
  const std::string secret = Accounts::NewTotpSecret();
  std::string key_id;
  call.session->data.set_pending_totp(
      d_.vault.SealSecret(secret, PendingAad(call.address()), &key_id));
  call.session->data.set_pending_totp_key(key_id);
  if (!d_.sessions.Save(*call.session).ok()) return Info(call, "error_title", "error_text", 503, false);
  mustache::data data;
  data.set("title", Text(call, "totp_heading"));
  data.set("secret", Base32(secret));
  Render(call, "totp_setup", data);
}

void PortalWeb::TotpQr(Call& call) {
  if (call.session->data.pending_totp().empty()) return NotFound(call);
  auto secret = d_.vault.OpenSecret(call.session->data.pending_totp(), PendingAad(call.address()),
                                    call.session->data.pending_totp_key());
  if (!secret.ok()) return NotFound(call);
  const std::string svg =
      QrSvg(OtpAuthUri(d_.brands.For(call.brand).settings.product_name, call.address(), *secret));
  Wipe(*secret);
  call.res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  call.res.set_content(svg, "image/svg+xml");
}

void PortalWeb::TotpConfirm(Call& call) {
  if (call.session->data.pending_totp().empty()) return Redirect(call, "/settings");
  auto secret = d_.vault.OpenSecret(call.session->data.pending_totp(), PendingAad(call.address()),
                                    call.session->data.pending_totp_key());
  if (!secret.ok()) return Redirect(call, "/settings");
  auto answer = d_.accounts.EnableTotp(call.address(), *secret, call.Param("code"),
                                       call.Param("password"), call.ip);
  if (!answer.ok()) {
    Wipe(*secret);
    return Info(call, "error_title", "error_text", 503, false);
  }
  if (answer->outcome != Accounts::Outcome::kOk) {
    mustache::data data;
    data.set("title", Text(call, "totp_heading"));
    data.set("secret", Base32(*secret));
    data.set("error", Text(call, answer->message_key));
    Wipe(*secret);
    Render(call, "totp_setup", data,
           answer->outcome == Accounts::Outcome::kLocked ? 429
           : answer->outcome == Accounts::Outcome::kRefused ? 409 : 400);
    return;
  }
  Wipe(*secret);
  // Every other session of the account has ended; this one gets a new id
  // (without the pending secret).
  const std::string address = call.address();
  if (!LogIn(call, address, false, answer->generation).ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  Redirect(call, "/settings?n=totp_enabled");
}

void PortalWeb::TotpDisable(Call& call) {
  auto answer = d_.accounts.DisableTotp(call.address(), call.Param("code"), call.ip);
  if (!answer.ok()) return Info(call, "error_title", "error_text", 503, false);
  if (answer->outcome != Accounts::Outcome::kOk) {
    call.notice = Text(call, answer->message_key);
    return Settings(call);
  }
  const std::string address = call.address();
  if (!LogIn(call, address, false, answer->generation).ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  Redirect(call, "/settings?n=totp_disabled");
}

void PortalWeb::CertificateUpload(Call& call) {
  const std::string data = call.req.has_file("certificate")
                               ? call.req.get_file_value("certificate").content
                               : std::string();
  auto info = CheckRecipientCertificate(data, call.address(), d_.clock.NowMs() / 1000);
  if (!info.ok()) {
    call.notice = Text(call, "certificate_invalid");
    call.res.status = 400;
    Settings(call);
    call.res.status = 400;
    return;
  }
  if (!d_.accounts.SetCertificate(call.address(), info->der).ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  d_.audit.Record("certificate", call.address(), call.ip, {}, "sha256 " + info->fingerprint);
  Redirect(call, "/settings?n=certificate_saved");
}

void PortalWeb::CertificateRemove(Call& call) {
  if (!d_.accounts.SetCertificate(call.address(), "").ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  d_.audit.Record("certificate_removed", call.address(), call.ip);
  Redirect(call, "/settings?n=certificate_removed");
}

void PortalWeb::Language(Call& call) {
  const std::string lang = call.Param("language");
  if (lang != "en" && lang != "de") return Redirect(call, "/settings");
  if (!d_.accounts.SetLanguage(call.address(), lang).ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  Redirect(call, "/settings?n=language_saved");
}

void PortalWeb::StaticCss(Call& call) {
  auto css = d_.templates.File("web/style.css");
  if (!css.ok()) return NotFound(call);
  call.res.set_header("Cache-Control", "public, max-age=3600");
  call.res.set_content(*css, "text/css; charset=utf-8");
}

void PortalWeb::BrandCss(Call& call) {
  const std::string key = call.Match(1);
  const Brand brand = d_.brands.For(key == "default" ? std::string() : key);
  const DomainSettings& d = brand.settings;
  mustache::data data;
  data.set("primary_color", d.primary_color);
  data.set("background_color", d.background_color);
  data.set("text_color", d.text_color);
  auto css = d_.templates.Render(d.domain, "web/brand.css", data);
  if (!css.ok()) return NotFound(call);
  // Short: a tenant's colour changed in the registry shows within minutes.
  call.res.set_header("Cache-Control", "public, max-age=300");
  call.res.set_content(*css, "text/css; charset=utf-8");
}

void PortalWeb::BrandLogo(Call& call) {
  const std::string key = call.Match(1);
  const Brand brand = d_.brands.For(key == "default" ? std::string() : key);
  auto serve = [&call](const std::string& bytes, const char* type) {
    // An SVG logo is an image here, never a document that could run script.
    call.res.set_header("Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    call.res.set_header("X-Content-Type-Options", "nosniff");
    call.res.set_header("Cache-Control", "public, max-age=300");
    call.res.set_content(bytes, type);
  };
  if (brand.tenant && !brand.tenant->logo.empty()) {
    // The tenant's logo (checked: PNG or SVG by content, at most 64 KiB).
    return serve(brand.tenant->logo, brand.tenant->logo_type.c_str());
  }
  const DomainSettings& d = brand.settings;
  if (d.logo_file.empty() || (key != "default" && d.domain != key)) return NotFound(call);
  std::ifstream in(d.logo_file, std::ios::binary);
  if (!in) return NotFound(call);
  std::stringstream ss;
  ss << in.rdbuf();
  serve(ss.str(), d.logo_file.ends_with(".svg") ? "image/svg+xml" : "image/png");
}

}  // namespace sg::portal
