// The defaults of the optional parts of Store: a store that does not have them (a test double) fails
// as an unavailable store would.
#include "keystore/store.hpp"

#include "keystore/error.hpp"

namespace keystore {

namespace {
[[noreturn]] void unsupported(const char* what) {
  throw Error(ErrorKind::store, std::string(what) + " is not supported by this store");
}
}  // namespace

std::string Store::describe() const { return "keystore"; }
std::int64_t Store::generation() { unsupported("the change counter"); }
CrlPut Store::put_crl(const CrlRecord&) { unsupported("local revocation data"); }
std::vector<CrlRecord> Store::crls() { unsupported("local revocation data"); }
std::optional<CrlRecord> Store::crl(std::string_view) { unsupported("local revocation data"); }
bool Store::remove_crl(std::string_view) { unsupported("local revocation data"); }
bool Store::revoke(const RevokedRecord&) { unsupported("local revocation data"); }
bool Store::unrevoke(std::string_view) { unsupported("local revocation data"); }
std::vector<RevokedRecord> Store::revoked() { unsupported("local revocation data"); }
std::optional<RevokedRecord> Store::find_revoked(std::string_view) { unsupported("local revocation data"); }
std::optional<RevocationEntry> Store::revocation_entry(std::string_view, std::string_view) {
  unsupported("the revocation cache");
}
void Store::put_revocation_entry(const RevocationEntry&) { unsupported("the revocation cache"); }
void Store::remove_revocation_entry(std::string_view, std::string_view, std::optional<Time>) {
  unsupported("the revocation cache");
}
std::int64_t Store::purge_revocation_entries(Time) { unsupported("the revocation cache"); }
std::optional<std::string> Store::claim_revocation_fetch(std::string_view, std::chrono::seconds) {
  unsupported("the revocation cache");
}
void Store::release_revocation_fetch(std::string_view, std::string_view) {
  unsupported("the revocation cache");
}

}  // namespace keystore
