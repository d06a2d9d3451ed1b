#include "milter/direction.hpp"

#include "milter/logging.hpp"
#include "milter/pipeline.hpp"

namespace milter {

std::string address_domain(std::string_view address) {
  if (!address.empty() && address.front() == '<') address.remove_prefix(1);
  if (!address.empty() && address.back() == '>') address.remove_suffix(1);
  auto at = address.rfind('@');
  if (at == std::string_view::npos || at + 1 >= address.size()) return {};
  std::string domain = conf::ascii_lower(address.substr(at + 1));
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  return domain;
}

DirectionDecision explain_direction(const conf::Config& config, const Envelope& envelope) {
  using logging::Line;
  const conf::DirectionRules& d = config.direction;
  if (envelope.authenticated && d.authenticated_is_outbound)
    return {Direction::outbound, Line()
                                     .add("reason", "authenticated")
                                     .add("user", envelope.auth_user.empty() ? "-" : envelope.auth_user)};
  if (!envelope.client_address.empty()) {
    for (const conf::Cidr& net : d.internal_networks) {
      if (net.contains(envelope.client_address))
        return {Direction::outbound, Line()
                                         .add("reason", "internal-network")
                                         .add("client", envelope.client_address)
                                         .add("network", net.to_string())};
    }
    return {Direction::inbound,
            Line().add("reason", "external-client").add("client", envelope.client_address)};
  }
  const std::string domain = address_domain(envelope.sender);
  if (!domain.empty()) {
    for (const conf::DomainPattern& p : d.internal_domains) {
      if (p.matches(domain))
        return {Direction::outbound, Line()
                                         .add("reason", "internal-domain")
                                         .add("client", "unknown")
                                         .add("domain", domain)
                                         .add("pattern", p.to_string())};
    }
  }
  return {Direction::inbound, Line()
                                  .add("reason", "no-internal-match")
                                  .add("client", "unknown")
                                  .add("domain", domain.empty() ? "-" : domain)};
}

Direction decide_direction(const conf::Config& config, const Envelope& envelope) {
  return explain_direction(config, envelope).direction;
}

}  // namespace milter
