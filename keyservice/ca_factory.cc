#include "keyservice/ca_factory.h"

#include "keyservice/builtin_ca.h"
#include "keyservice/ca_router.h"
#include "keyservice/cmp_ca.h"

namespace sg::keyservice {

const std::vector<std::string>& CaBackendNames() {
  static const std::vector<std::string> names = {"builtin", "cmp"};
  return names;
}

CaFactory BackendCaFactory() {
  return [](const CaConfig& config,
            const CaContext& context) -> Result<std::unique_ptr<CertificateAuthority>> {
    if (config.backend == "builtin") {
      SG_ASSIGN_OR_RETURN(auto ca,
                          BuiltinCa::LoadOrCreate(context.store, context.kek, config, context.clock));
      return std::unique_ptr<CertificateAuthority>(std::move(ca));
    }
    if (config.backend == "cmp") {
      SG_ASSIGN_OR_RETURN(auto ca, CmpCa::Open(config.cmp));
      return std::unique_ptr<CertificateAuthority>(std::move(ca));
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "keyservice.ca.backend: unknown backend \"" + config.backend + "\"");
  };
}

CaFactory RoutingCaFactory(CaFactory backends) {
  return [backends = std::move(backends)](
             const CaConfig& config,
             const CaContext& context) -> Result<std::unique_ptr<CertificateAuthority>> {
    CaConfig base = config;
    base.domains.clear();
    SG_ASSIGN_OR_RETURN(auto default_ca, backends(base, context));
    if (config.domains.empty()) return default_ca;
    std::vector<CaRouter::Route> routes;
    for (const auto& d : config.domains) {
      CaConfig one = base;
      one.backend = d.backend;
      one.cmp = d.cmp;
      auto ca = backends(one, context);
      if (!ca.ok()) {
        return MakeError(ca.error().code,
                         "keyservice.ca.domains." + d.domain + ": " + ca.error().message);
      }
      routes.push_back(CaRouter::Route{d.domain, d.backend, std::move(*ca)});
    }
    return std::unique_ptr<CertificateAuthority>(
        new CaRouter(config.backend, std::move(default_ca), std::move(routes)));
  };
}

CaFactory DefaultCaFactory() { return RoutingCaFactory(BackendCaFactory()); }

}  // namespace sg::keyservice
