#include "milter/direction.hpp"

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
  const conf::DirectionRules& d = config.direction;
  if (envelope.authenticated && d.authenticated_is_outbound)
    return {Direction::outbound, "reason=authenticated user=" +
                                     (envelope.auth_user.empty() ? std::string("-") : envelope.auth_user)};
  if (!envelope.client_address.empty()) {
    for (const conf::Cidr& net : d.internal_networks) {
      if (net.contains(envelope.client_address))
        return {Direction::outbound,
                "reason=internal-network client=" + envelope.client_address + " network=" + net.to_string()};
    }
    return {Direction::inbound, "reason=external-client client=" + envelope.client_address};
  }
  const std::string domain = address_domain(envelope.sender);
  if (!domain.empty()) {
    for (const conf::DomainPattern& p : d.internal_domains) {
      if (p.matches(domain))
        return {Direction::outbound,
                "reason=internal-domain client=unknown domain=" + domain + " pattern=" + p.to_string()};
    }
  }
  return {Direction::inbound,
          "reason=no-internal-match client=unknown domain=" + (domain.empty() ? std::string("-") : domain)};
}

Direction decide_direction(const conf::Config& config, const Envelope& envelope) {
  return explain_direction(config, envelope).direction;
}

}  // namespace milter
