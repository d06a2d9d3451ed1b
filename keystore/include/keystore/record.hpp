// The values the store holds and hands out. Plain data; a CertRecord owns its certificate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keystore/facts.hpp"
#include "smime/algorithms.hpp"
#include "smime/ossl.hpp"

namespace keystore {

enum class Origin { imported, harvested };
std::string to_string(Origin o);
std::optional<Origin> origin_from_string(const std::string& s);

// A certificate's last use is recorded at most this often: least-recently-used eviction needs no finer
// time, and every write to the store is a synced transaction (milliseconds per message otherwise).
inline constexpr Time kLastUseGranularity = 3600;

// True when a use at `now` is worth recording, given the recorded last use.
inline bool last_use_stale(const std::optional<Time>& last_used, Time now) {
  return !last_used || now - *last_used >= kLastUseGranularity;
}

struct CertRecord {
  std::int64_t id = 0;
  Origin origin = Origin::imported;
  smime::X509Ptr cert;
  CertFacts facts;
  Time first_seen = 0;
  std::optional<Time> last_used;
  std::string harvested_message_id;  // empty unless harvested
  std::string harvested_sender;
  smime::Capabilities capabilities;       // the owner's announced SMIMECapabilities, if known
  std::optional<Time> capabilities_time;  // signingTime of the message they came from
  bool has_private_key = false;           // one of the gateway's own identities

  CertRecord clone() const;
};

// A certificate to add.
struct NewCertificate {
  X509* cert = nullptr;
  Origin origin = Origin::imported;
  Time now = 0;
  std::string message_id;  // harvested only
  std::string sender;      // harvested only
};

// A private key as stored: PKCS#8 PEM, encrypted ("ENCRYPTED PRIVATE KEY") when a key passphrase was
// configured, plus the chain (PEM) to send with signatures.
struct StoredKey {
  std::string pkcs8_pem;
  bool encrypted = false;
  std::string chain_pem;
};

struct AnchorRecord {
  std::int64_t id = 0;
  smime::X509Ptr cert;
  std::string fingerprint;
  std::string subject;
  Time not_after = 0;
  Time added = 0;
};

// One harvest that changed the store ("stored" or "updated").
struct HarvestEvent {
  Time time = 0;
  std::string outcome;
  std::string fingerprint;
  std::string sender;
  std::string domain;
  std::string message_id;
  std::string detail;
};

struct WarningRecord {
  Time time = 0;
  std::string domain;
  std::string message;
};

// One entry of the shared revocation cache, as revocation/ persists it: bytes and dates, not judged
// (the checker verifies a payload it reads back before using it).
struct RevocationEntry {
  std::string kind;  // "ocsp", "crl", "undetermined"
  std::string key;
  std::string url;
  Time stored_at = 0;
  Time expires_at = 0;  // not used from then on
  std::optional<Time> this_update, next_update;
  std::string payload;
};

// A CRL imported by hand (smime-keystore crl import), for the revocation checker: one per issuer
// certificate. Bytes and dates: the checker verifies the CRL against the issuer before every use.
struct CrlRecord {
  std::string issuer_fingerprint;  // the certificate whose key verified it at import
  std::string issuer;              // the CRL's issuer name (RFC 2253), for listings
  std::string der;
  Time this_update = 0;
  std::optional<Time> next_update;
  Time imported = 0;
};

// What put_crl did: stored (none was there), replaced (an older one), unchanged (the same CRL), or
// refused as not newer (thisUpdate at or before the stored one's, and not the same CRL).
enum class CrlPut { stored, replaced, unchanged, not_newer };
// The rule both backends apply, under their writer lock: what putting `incoming` does where `stored` is.
CrlPut crl_put_outcome(const std::optional<CrlRecord>& stored, const CrlRecord& incoming);

// A fingerprint prefix as Store::find_prefix takes it (hex digits, colons anywhere, any case) in the
// stored form: upper case, a colon between bytes ("ab:C" -> "AB:C"). None when it is empty or not hex.
std::optional<std::string> fingerprint_prefix(std::string_view hex_prefix);

// A certificate revoked by hand (smime-keystore revoke): the checker answers "revoked" for it.
struct RevokedRecord {
  std::string fingerprint;  // of the revoked certificate (it need not be in the store)
  std::string reason;       // RFC 5280 CRLReason name, e.g. "keyCompromise"
  Time revoked_at = 0;      // when it is revoked from (as a CRL's revocationDate)
  Time added = 0;
  std::string comment;
};

struct ListFilter {
  std::string address;  // exact e-mail address (case-insensitive)
  std::string domain;   // addresses in the domain, or dNSName exact/wildcard covering it
  std::optional<Origin> origin;
  bool identities_only = false;  // only certificates with a private key
};

}  // namespace keystore
