#include "milter/settings.hpp"

namespace milter::settings {

namespace {

smime::Digest digest(conf::Digest d) {
  switch (d) {
    case conf::Digest::sha256:
      return smime::Digest::sha256;
    case conf::Digest::sha384:
      return smime::Digest::sha384;
    case conf::Digest::sha512:
      return smime::Digest::sha512;
  }
  return smime::Digest::sha256;
}

revocation::Undetermined undetermined(conf::Undetermined u) {
  switch (u) {
    case conf::Undetermined::fail_closed:
      return revocation::Undetermined::fail_closed;
    case conf::Undetermined::fail_open:
      return revocation::Undetermined::fail_open;
    case conf::Undetermined::tempfail:
      return revocation::Undetermined::tempfail;
  }
  return revocation::Undetermined::fail_closed;
}

}  // namespace

smime::mime::Limits mime_limits(const conf::Config& config) {
  smime::mime::Limits l;
  l.max_depth = config.limits.mime_depth;
  l.max_parts = config.limits.mime_parts;
  return l;
}

namespace {

// DER needs the content in memory: only where the spool would keep it in memory too.
bool der_for(const conf::Config& config, const conf::Profile& p, std::uint64_t size) {
  return p.encoding == conf::CmsEncoding::der && size < config.spool.memory_limit;
}

}  // namespace

smime::SignOptions sign_options(const conf::Config& config, const conf::Profile& p, std::uint64_t size) {
  smime::SignOptions o;
  o.der = der_for(config, p, size);
  o.mode = p.sign_mode == conf::SignMode::opaque ? smime::SignMode::opaque : smime::SignMode::detached;
  o.digest = digest(p.digest);
  o.rsa_padding = p.rsa_signature_padding == conf::RsaSignaturePadding::pss
                      ? smime::RsaSignaturePadding::pss
                      : smime::RsaSignaturePadding::pkcs1v15;
  o.include_chain = true;
  return o;
}

smime::EncryptOptions encrypt_options(const conf::Config& config, const conf::Profile& p,
                                      std::uint64_t size) {
  smime::EncryptOptions o;
  o.cipher = cipher(p.cipher);
  o.der = der_for(config, p, size);
  return o;
}

smime::AlgorithmPolicy algorithm_policy(const conf::InboundAlgorithms& c) {
  smime::AlgorithmPolicy p;
  p.min_security_bits = static_cast<int>(c.min_security_bits);
  p.sha1 = c.sha1 == conf::Sha1Policy::accept ? smime::Sha1Policy::accept : smime::Sha1Policy::refuse;
  return p;
}

std::optional<smime::Cipher> cipher(conf::Cipher c) {
  switch (c) {
    case conf::Cipher::automatic:
      return std::nullopt;
    case conf::Cipher::aes256_cbc:
      return smime::Cipher::aes256_cbc;
    case conf::Cipher::aes128_gcm:
      return smime::Cipher::aes128_gcm;
    case conf::Cipher::aes256_gcm:
      return smime::Cipher::aes256_gcm;
  }
  return std::nullopt;
}

smime::RsaKeyTransport key_transport(const conf::Profile& p) {
  return p.rsa_key_transport == conf::RsaKeyTransport::oaep ? smime::RsaKeyTransport::oaep
                                                            : smime::RsaKeyTransport::pkcs1v15;
}

revocation::Options revocation_options(const conf::Revocation& c) {
  revocation::Options o;
  o.order.clear();
  for (conf::RevocationMethod m : c.order)
    o.order.push_back(m == conf::RevocationMethod::ocsp ? revocation::Method::ocsp : revocation::Method::crl);
  o.connect_timeout = c.connect_timeout;
  o.timeout = c.timeout;
  o.max_crl_size = c.max_crl_size;
  o.max_ocsp_size = c.max_ocsp_size;
  o.proxy = c.proxy;
  o.clock_skew = c.clock_skew;
  o.ocsp_max_age = c.ocsp_max_age;
  o.crl_grace = c.crl_grace;
  o.negative_cache = c.negative_cache;
  o.cache_directory = c.cache_directory;
  return o;
}

revocation::Policy revocation_policy(const conf::Revocation& c) {
  revocation::Policy p;
  p.encrypt = undetermined(c.encrypt);
  p.verify = undetermined(c.verify);
  p.no_distribution_point_is_good = c.no_distribution_point_is_good;
  return p;
}

keystore::HarvestPolicy harvest_policy(const conf::Harvest& c) {
  keystore::HarvestPolicy p;
  p.harvest_unverified = c.unverified;
  p.harvest_updates = c.updates;
  p.size_limit_bytes = static_cast<std::int64_t>(c.size_limit);
  p.warning_window = static_cast<keystore::Time>(c.warning_window.count());
  return p;
}

keystore::StoreLocation store_location(const conf::Keystore& c) {
  keystore::StoreLocation where;
  if (c.postgres()) {
    where.url = c.url;
    where.read_url = c.read_url;
    where.pg.application_name = "smime-milter";
  } else {
    where.path = c.path.string();
    where.sqlite.create = false;
  }
  return where;
}

}  // namespace milter::settings
