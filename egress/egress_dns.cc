#include "egress/egress_dns.h"

namespace sg::egress {

CaresResolver::CaresResolver(std::unique_ptr<dns::CaresResolver> resolver)
    : resolver_(std::move(resolver)) {}

CaresResolver::~CaresResolver() = default;

Result<std::unique_ptr<CaresResolver>> CaresResolver::Create(uv_loop_t* loop,
                                                             const DnsConfig& config) {
  dns::ResolverOptions options;
  for (const auto& s : config.servers) options.servers.push_back(dns::Server{s.host, s.port});
  options.timeout = config.timeout;
  options.config_key = "egress.dns.servers";
  options.trust_ad = config.trust_ad;
  SG_ASSIGN_OR_RETURN(auto resolver, dns::CaresResolver::Create(loop, options));
  return std::unique_ptr<CaresResolver>(new CaresResolver(std::move(resolver)));
}

void CaresResolver::Shutdown() { resolver_->Shutdown(); }

void CaresResolver::ResolveMx(const std::string& domain, MxCallback done) {
  resolver_->ResolveMx(domain, std::move(done));
}

void CaresResolver::ResolveAddress(const std::string& host, uint16_t port, AddrCallback done) {
  resolver_->ResolveAddress(host, port, std::move(done));
}

void CaresResolver::ResolveTxt(const std::string& name, TxtCallback done) {
  resolver_->ResolveTxt(name, std::move(done));
}

void CaresResolver::ResolveAuthenticated(const std::string& name, uint16_t qtype,
                                         AuthenticatedCallback done) {
  resolver_->ResolveAuthenticated(name, qtype, std::move(done));
}

}  // namespace sg::egress
