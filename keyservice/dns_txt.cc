#include "keyservice/dns_txt.h"

#include "common/dns/dns_blocking.h"

namespace sg::keyservice {

Result<std::vector<std::string>> CaresTxtResolver::Lookup(const std::string& name) {
  return dns::ResolveTxtBlocking(options_, name);
}

}  // namespace sg::keyservice
