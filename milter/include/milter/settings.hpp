// The configuration turned into the other modules' own option types: the one place where a conf::
// value becomes a smime::, revocation:: or keystore:: value. The milter and smime-keystore both use it
// (smime-keystore links only this part of the milter), so that the CLI answers exactly what the milter
// would decide.
#pragma once

#include <optional>

#include "conf/config.hpp"
#include "keystore/harvest.hpp"
#include "keystore/open_store.hpp"
#include "revocation/decision.hpp"
#include "revocation/revocation.hpp"
#include "smime/encrypt.hpp"
#include "smime/mime.hpp"
#include "smime/sign.hpp"
#include "smime/verify.hpp"

namespace milter::settings {

smime::mime::Limits mime_limits(const conf::Config& config);

// `size`: the body's size; DER (profile encoding "der") only for bodies that fit spool.memory_limit.
smime::SignOptions sign_options(const conf::Config& config, const conf::Profile& profile, std::uint64_t size);
smime::EncryptOptions encrypt_options(const conf::Config& config, const conf::Profile& profile,
                                      std::uint64_t size);
smime::AlgorithmPolicy algorithm_policy(const conf::InboundAlgorithms& config);
// nullopt for "auto": chosen by the recipients' announced capabilities.
std::optional<smime::Cipher> cipher(conf::Cipher cipher);
smime::RsaKeyTransport key_transport(const conf::Profile& profile);

revocation::Options revocation_options(const conf::Revocation& config);
revocation::Policy revocation_policy(const conf::Revocation& config);

keystore::HarvestPolicy harvest_policy(const conf::Harvest& config);

// Where the keystore is: the SQLite file (keystore.path) or the PostgreSQL database (keystore.url,
// keystore.read_url). The milter never creates a missing SQLite file: a wrong path is an unavailable
// keystore, not a new empty one.
keystore::StoreLocation store_location(const conf::Keystore& config);

}  // namespace milter::settings
