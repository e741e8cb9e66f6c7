// smimegatectl: manage users, domains, certificates, trust and keys of a
// running smimegate through the keyservice gRPC API.
//
// The endpoint comes from --endpoint, else from the `keyservice` section of
// --config (default $SMIMEGATE_HOME/smimegate.yaml, SMIMEGATE_HOME default
// ./var, or --home), else the default 127.0.0.1:7443.
//
// Exit codes: 0 ok, 1 the keyservice refused or failed, 2 usage or input
// file error, 3 keyservice unreachable.
#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <grpcpp/grpcpp.h>

#include "cmd/smimegatectl/deadletter_cmd.h"
#include "common/ascii.h"
#include "common/config_node.h"
#include "keyservice/import_files.h"
#include "keyservice/keyservice_config.h"
#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/keyservice_x509.h"

namespace ks = sg::keyservice;

namespace {

struct Globals {
  std::string home;
  std::string config;
  std::string endpoint;
  int timeout_s = 30;
};

int Fail(const sg::Error& e) {
  std::cerr << "smimegatectl: " << e.message << "\n";
  if (e.code == sg::ErrorCode::kUnavailable || e.code == sg::ErrorCode::kTimeout) return 3;
  if (e.code == sg::ErrorCode::kInvalidArgument) return 2;
  return 1;
}

sg::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return sg::MakeError(sg::ErrorCode::kInvalidArgument, path + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

sg::Result<std::string> ResolveEndpoint(const Globals& g) {
  if (!g.endpoint.empty()) return g.endpoint;
  std::string home = g.home;
  if (home.empty()) {
    const char* env = std::getenv("SMIMEGATE_HOME");
    home = env && *env ? env : "./var";
  }
  std::string config = g.config.empty() ? home + "/smimegate.yaml" : g.config;
  if (!std::filesystem::exists(config)) {
    if (!g.config.empty()) {
      return sg::MakeError(sg::ErrorCode::kInvalidArgument, "--config " + config + ": not found");
    }
    return std::string("127.0.0.1:7443");  // no config: the default listener
  }
  auto doc = sg::config::ConfigDocument::LoadFile(config);
  if (!doc.ok()) return doc.error();
  auto root = doc->Root();
  SG_ASSIGN_OR_RETURN(std::string data_dir, root.String("data_dir", home));
  SG_ASSIGN_OR_RETURN(auto section, root.Map("keyservice"));
  SG_ASSIGN_OR_RETURN(auto cfg, ks::ParseKeyServiceConfig(section, data_dir));
  return cfg.endpoint;
}

std::string Date(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

std::string Pem(const std::string& der) {
  auto x = ks::ParseCertificateDer(der);
  return x.ok() ? ks::CertificateToPem(x->get()) : std::string();
}

// Owner argument: an address, or a domain given with --domain ("@domain").
std::string Owner(const std::string& address, const std::string& domain) {
  return domain.empty() ? address : "@" + domain;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smimegatectl: manage smimegate users, domains, certificates, trust and keys"};
  app.require_subcommand(1);
  Globals g;
  app.add_option("--home", g.home, "smimegate home (default $SMIMEGATE_HOME or ./var)");
  app.add_option("--config", g.config, "config file (default <home>/smimegate.yaml)");
  app.add_option("--endpoint", g.endpoint, "keyservice gRPC endpoint host:port (overrides config)");
  app.add_option("--timeout", g.timeout_s, "seconds to wait for the keyservice")->check(CLI::Range(1, 3600));

  std::function<int(ks::KeyServiceClient&)> action;
  auto run = [&](std::function<int(ks::KeyServiceClient&)> f) { action = std::move(f); };
  std::function<int()> queue_action;  // commands that are not keyservice calls

  // ---- user
  auto* user = app.add_subcommand("user", "participating users")->require_subcommand(1);
  std::string address, domain, tenant, file, password, password_file, out_file, kind, fingerprint;
  bool no_participate = false, pending = false, issuing = false;
  auto* user_add = user->add_subcommand("add", "add or update a user");
  user_add->add_option("address", address, "email address")->required();
  user_add->add_flag("--no-participate", no_participate, "registered but not participating");
  user_add->add_option("--tenant", tenant, "tenant");
  user_add->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.PutUsers({ks::User{address, !no_participate, tenant}});
      if (!r.ok()) return Fail(r.error());
      std::cout << (r->added ? "added " : "updated ") << address << "\n";
      return 0;
    });
  });
  auto* user_remove = user->add_subcommand("remove", "remove a user (keys stay for decryption)");
  user_remove->add_option("address", address, "email address")->required();
  user_remove->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.RemoveUser(address);
      if (!r.ok()) return Fail(r.error());
      std::cout << "removed " << address << "\n";
      return 0;
    });
  });
  auto* user_list = user->add_subcommand("list", "list users");
  user_list->add_option("--domain", domain, "only this domain");
  user_list->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.ListUsers(domain);
      if (!r.ok()) return Fail(r.error());
      for (const auto& u : *r) {
        std::cout << u.address << "\t" << (u.participating ? "participating" : "not-participating")
                  << (u.tenant.empty() ? "" : "\t" + u.tenant) << "\n";
      }
      return 0;
    });
  });
  auto* user_import = user->add_subcommand(
      "import", "import users from CSV: address[,participating[,tenant]] per line");
  user_import->add_option("file", file, "CSV file")->required();
  user_import->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto text = ReadFile(file);
      if (!text.ok()) return Fail(text.error());
      auto users = ks::ParseUsersCsv(*text, file);
      if (!users.ok()) return Fail(users.error());
      auto r = c.PutUsers(*users);
      if (!r.ok()) return Fail(r.error());
      std::cout << "imported " << users->size() << " users (" << r->added << " added, "
                << r->updated << " updated)\n";
      return 0;
    });
  });

  // ---- domain
  auto* dom = app.add_subcommand("domain", "hosted domains")->require_subcommand(1);
  auto* dom_add = dom->add_subcommand("add", "add a hosted domain");
  dom_add->add_option("domain", domain, "domain name")->required();
  dom_add->add_option("--tenant", tenant, "tenant");
  dom_add->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.AddDomain(ks::Domain{domain, tenant});
      if (!r.ok()) return Fail(r.error());
      std::cout << "added domain " << domain << "\n";
      return 0;
    });
  });
  dom->add_subcommand("list", "list hosted domains")->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.ListDomains();
      if (!r.ok()) return Fail(r.error());
      for (const auto& d : *r) std::cout << d.name << (d.tenant.empty() ? "" : "\t" + d.tenant) << "\n";
      return 0;
    });
  });

  // ---- cert
  auto* cert = app.add_subcommand("cert", "certificates (own, partner, pending)")->require_subcommand(1);
  auto* cert_list = cert->add_subcommand("list", "list certificates");
  cert_list->add_option("--owner", address, "address or @domain");
  cert_list->add_option("--kind", kind, "own|own-domain|partner|partner-domain|pending|trust");
  cert_list->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates(address, kind);
      if (!r.ok()) return Fail(r.error());
      for (const auto& i : *r) {
        std::cout << i.fingerprint.substr(0, 16) << "\t" << i.kind << "\t"
                  << (i.owner.empty() ? "-" : i.owner) << "\t" << Date(i.not_before) << ".."
                  << Date(i.not_after) << (i.current ? "\tcurrent" : "")
                  << (i.has_private_key ? "\tkey" : "") << "\t" << i.subject << "\n";
      }
      return 0;
    });
  });
  auto* cert_show = cert->add_subcommand("show", "details and PEM of a certificate");
  cert_show->add_option("fingerprint", fingerprint, "fingerprint (or a unique prefix)")->required();
  auto* cert_export = cert->add_subcommand("export", "PEM of the current certificate of an owner");
  cert_export->add_option("owner", address, "address or @domain")->required();
  cert_export->add_option("--out", out_file, "write to this file instead of stdout");
  cert_show->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates("", "");
      if (!r.ok()) return Fail(r.error());
      const std::string prefix = sg::AsciiLower(fingerprint);
      const ks::CertificateInfo* found = nullptr;
      for (const auto& i : *r) {
        if (!prefix.empty() && i.fingerprint.rfind(prefix, 0) == 0) {
          if (found && found->fingerprint != i.fingerprint) {
            return Fail(sg::MakeError(sg::ErrorCode::kInvalidArgument,
                                      "fingerprint prefix " + fingerprint + " is ambiguous"));
          }
          found = &i;
        }
      }
      if (!found) {
        return Fail(sg::MakeError(sg::ErrorCode::kNotFound, "no certificate " + fingerprint));
      }
      std::cout << "fingerprint: " << found->fingerprint << "\nkind: " << found->kind
                << "\nowner: " << found->owner << "\nsubject: " << found->subject
                << "\nissuer: " << found->issuer << "\nvalid: " << Date(found->not_before)
                << " .. " << Date(found->not_after) << "\ncurrent: " << (found->current ? "yes" : "no")
                << "\nprivate key: " << (found->has_private_key ? "held by the keyservice" : "no")
                << "\n" << Pem(found->der);
      return 0;
    });
  });
  cert_export->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates(address, "");
      if (!r.ok()) return Fail(r.error());
      for (const auto& i : *r) {
        if (!i.current) continue;
        if (out_file.empty()) {
          std::cout << Pem(i.der);
        } else {
          std::ofstream(out_file) << Pem(i.der);
        }
        return 0;
      }
      return Fail(sg::MakeError(sg::ErrorCode::kNotFound, "no current certificate for " + address));
    });
  });
  auto* cert_import = cert->add_subcommand(
      "import", "import partner certificates (PEM bundle or DER) for an address or a domain");
  cert_import->add_option("file", file, "certificate file")->required();
  auto* ci_addr = cert_import->add_option("--address", address, "the partner address");
  auto* ci_dom = cert_import->add_option("--domain", domain, "a partner domain (domain certificate)");
  ci_addr->excludes(ci_dom);
  cert_import->callback([&] {
    if (address.empty() && domain.empty()) throw CLI::ValidationError("cert import", "give --address or --domain");
    run([&](ks::KeyServiceClient& c) {
      auto data = ReadFile(file);
      if (!data.ok()) return Fail(data.error());
      auto der = ks::ParseCertificateFile(*data, file);
      if (!der.ok()) return Fail(der.error());
      auto r = c.ImportCertificates(Owner(address, domain), *der);
      if (!r.ok()) {
        return Fail(sg::MakeError(r.error().code, file + ": " + r.error().message));
      }
      for (const auto& f : *r) std::cout << "imported " << f << "\n";
      return 0;
    });
  });

  // ---- trust
  auto* trust = app.add_subcommand("trust", "trust anchors for partner certificates")->require_subcommand(1);
  auto* trust_add = trust->add_subcommand("add", "trust CA certificates (PEM bundle or DER)");
  trust_add->add_option("file", file, "CA certificate file")->required();
  trust_add->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto data = ReadFile(file);
      if (!data.ok()) return Fail(data.error());
      auto der = ks::ParseCertificateFile(*data, file);
      if (!der.ok()) return Fail(der.error());
      auto r = c.TrustAdd(*der);
      if (!r.ok()) return Fail(sg::MakeError(r.error().code, file + ": " + r.error().message));
      for (const auto& f : r->fingerprints) std::cout << "trusted " << f << "\n";
      std::cout << r->promoted_pending << " pending certificates are now trusted\n";
      return 0;
    });
  });
  auto* trust_list = trust->add_subcommand("list", "list admin-added anchors (or --pending)");
  trust_list->add_flag("--pending", pending, "list harvested certificates waiting for approval");
  trust_list->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates("", pending ? "pending" : "trust");
      if (!r.ok()) return Fail(r.error());
      for (const auto& i : *r) {
        std::cout << i.fingerprint << "\t" << (i.owner.empty() ? "" : i.owner + "\t")
                  << Date(i.not_after) << "\t" << i.subject << "\tissuer: " << i.issuer << "\n";
      }
      return 0;
    });
  });
  auto* trust_approve = trust->add_subcommand("approve", "trust the CA of a pending certificate");
  trust_approve->add_option("fingerprint", fingerprint, "pending certificate fingerprint")->required();
  trust_approve->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.TrustApprovePending(fingerprint);
      if (!r.ok()) return Fail(r.error());
      for (const auto& f : r->fingerprints) std::cout << "trusted " << f << "\n";
      std::cout << r->promoted_pending << " pending certificates are now trusted\n";
      return 0;
    });
  });
  auto* trust_remove = trust->add_subcommand("remove", "remove an admin-added anchor");
  trust_remove->add_option("fingerprint", fingerprint, "anchor fingerprint")->required();
  trust_remove->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.TrustRemove(fingerprint);
      if (!r.ok()) return Fail(r.error());
      std::cout << "removed " << fingerprint << "\n";
      return 0;
    });
  });

  // ---- ca
  auto* ca = app.add_subcommand("ca", "the built-in CA")->require_subcommand(1);
  auto* ca_export = ca->add_subcommand("export", "print the root certificate (PEM) for partners");
  ca_export->add_flag("--issuing", issuing, "also print the issuing CA certificate");
  ca_export->add_option("--out", out_file, "write to this file instead of stdout");
  ca_export->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.CaExport();
      if (!r.ok()) return Fail(r.error());
      std::string pem = Pem(r->root_der) + (issuing ? Pem(r->issuing_der) : "");
      if (out_file.empty()) {
        std::cout << pem;
      } else {
        std::ofstream(out_file) << pem;
      }
      return 0;
    });
  });

  // ---- key
  auto* key = app.add_subcommand("key", "private keys")->require_subcommand(1);
  auto* key_import = key->add_subcommand("import", "import a PKCS#12 (.p12/.pfx) key for a user or our domain");
  key_import->add_option("file", file, "PKCS#12 file")->required();
  auto* ki_addr = key_import->add_option("--address", address, "the hosted user");
  auto* ki_dom = key_import->add_option("--domain", domain, "our hosted domain (domain key)");
  ki_addr->excludes(ki_dom);
  key_import->add_option("--password-file", password_file,
                         "file holding the password (else $SMIMEGATE_P12_PASSWORD, else empty)");
  key_import->callback([&] {
    if (address.empty() && domain.empty()) throw CLI::ValidationError("key import", "give --address or --domain");
    run([&](ks::KeyServiceClient& c) {
      auto data = ReadFile(file);
      if (!data.ok()) return Fail(data.error());
      if (!password_file.empty()) {
        auto p = ReadFile(password_file);
        if (!p.ok()) return Fail(p.error());
        password = *p;
        while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
      } else if (const char* env = std::getenv("SMIMEGATE_P12_PASSWORD")) {
        password = env;
      }
      auto r = c.ImportKey(Owner(address, domain), *data, password);
      if (!r.ok()) return Fail(sg::MakeError(r.error().code, file + ": " + r.error().message));
      std::cout << "imported key " << r->key_id << " certificate " << r->fingerprint << "\n";
      return 0;
    });
  });
  auto* key_rollover = key->add_subcommand("rollover", "issue a new key and certificate now");
  key_rollover->add_option("address", address, "the user")->required();
  key_rollover->callback([&] {
    run([&](ks::KeyServiceClient& c) {
      auto r = c.Rollover(address);
      if (!r.ok()) return Fail(r.error());
      std::cout << "new key " << r->key_id << " certificate " << r->fingerprint << "\n";
      return 0;
    });
  });

  // ---- deadletter (cmd/smimegatectl/deadletter_cmd.cc)
  sg::ctl::AddDeadLetterCommands(
      app,
      [&g] {
        sg::ctl::DeadLetterSource source;
        source.home = g.home;
        source.config = g.config;
        source.endpoint = [&g] { return ResolveEndpoint(g); };
        source.channel = [](const std::string& ep) {
          return grpc::CreateChannel(ep, grpc::InsecureChannelCredentials());
        };
        source.timeout = std::chrono::seconds(g.timeout_s);
        return sg::ctl::OpenDeadLetters(source);
      },
      [&](std::function<int()> f) { queue_action = std::move(f); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (queue_action) return queue_action();
  auto endpoint = ResolveEndpoint(g);
  if (!endpoint.ok()) return Fail(endpoint.error());
  auto client = ks::KeyServiceClient::Create(*endpoint, std::chrono::seconds(g.timeout_s));
  return action ? action(*client) : 2;
}
