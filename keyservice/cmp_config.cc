#include "keyservice/cmp_config.h"

namespace sg::keyservice {

Result<CmpConfig> ParseCmpConfig(const config::ConfigNode& node) {
  CmpConfig c;
  SG_ASSIGN_OR_RETURN(c.url, node.String("url"));
  if (c.url.rfind("http://", 0) != 0) {
    return node.ErrorAt("url", "must start with http:// (CMP messages carry their own protection)");
  }
  SG_ASSIGN_OR_RETURN(c.protection, node.Enum("protection", {"mac", "signature"}, c.protection));
  SG_ASSIGN_OR_RETURN(c.reference, node.String("reference", ""));
  SG_ASSIGN_OR_RETURN(c.secret_file, node.String("secret_file", ""));
  SG_ASSIGN_OR_RETURN(c.secret_env, node.String("secret_env", c.secret_env));
  SG_ASSIGN_OR_RETURN(c.client_cert_file, node.String("client_cert_file", ""));
  SG_ASSIGN_OR_RETURN(c.client_key_file, node.String("client_key_file", ""));
  SG_ASSIGN_OR_RETURN(c.server_cert_file, node.String("server_cert_file", ""));
  SG_ASSIGN_OR_RETURN(c.issuing_cert_file, node.String("issuing_cert_file"));
  SG_ASSIGN_OR_RETURN(c.root_cert_file, node.String("root_cert_file"));
  SG_ASSIGN_OR_RETURN(c.message_timeout, node.Duration("message_timeout", c.message_timeout));
  SG_ASSIGN_OR_RETURN(c.total_timeout, node.Duration("total_timeout", c.total_timeout));
  if (c.message_timeout < std::chrono::seconds(1) || c.message_timeout > std::chrono::minutes(10)) {
    return node.ErrorAt("message_timeout", "must be between 1s and 10m");
  }
  if (c.total_timeout < c.message_timeout || c.total_timeout > std::chrono::hours(1)) {
    return node.ErrorAt("total_timeout", "must be between message_timeout and 1h");
  }
  if (c.protection == "mac" && c.reference.empty()) {
    return node.ErrorAt("reference", "required with protection: mac (the CA's reference value)");
  }
  if (c.protection == "signature" &&
      (c.client_cert_file.empty() || c.client_key_file.empty() || c.server_cert_file.empty())) {
    return node.ErrorHere(
        "protection: signature needs client_cert_file, client_key_file and server_cert_file");
  }
  return c;
}

}  // namespace sg::keyservice
