#include "keyservice/ca_factory.h"

#include "keyservice/builtin_ca.h"
#include "keyservice/cmp_ca.h"

namespace sg::keyservice {

const std::vector<std::string>& CaBackendNames() {
  static const std::vector<std::string> names = {"builtin", "cmp"};
  return names;
}

CaFactory DefaultCaFactory() {
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

}  // namespace sg::keyservice
