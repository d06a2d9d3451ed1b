// Internal: the names of the enumerations as written in the configuration (one table per type, used by
// the parser and by to_string()).
#pragma once

#include <string_view>
#include <utility>

#include "conf/config.hpp"

namespace conf::names {

inline constexpr std::pair<std::string_view, LogLevel> log_level[] = {{"error", LogLevel::error},
                                                                      {"warning", LogLevel::warning},
                                                                      {"info", LogLevel::info},
                                                                      {"debug", LogLevel::debug}};
inline constexpr std::pair<std::string_view, Mode> mode[] = {{"sign", Mode::sign},
                                                             {"encrypt", Mode::encrypt},
                                                             {"sign-encrypt", Mode::sign_encrypt},
                                                             {"triple", Mode::triple}};
inline constexpr std::pair<std::string_view, SignMode> sign_mode[] = {{"detached", SignMode::detached},
                                                                      {"opaque", SignMode::opaque}};
inline constexpr std::pair<std::string_view, Digest> digest[] = {
    {"sha256", Digest::sha256}, {"sha384", Digest::sha384}, {"sha512", Digest::sha512}};
inline constexpr std::pair<std::string_view, RsaSignaturePadding> rsa_signature_padding[] = {
    {"pkcs1v15", RsaSignaturePadding::pkcs1v15}, {"pss", RsaSignaturePadding::pss}};
inline constexpr std::pair<std::string_view, Cipher> cipher[] = {{"auto", Cipher::automatic},
                                                                 {"aes256-cbc", Cipher::aes256_cbc},
                                                                 {"aes128-gcm", Cipher::aes128_gcm},
                                                                 {"aes256-gcm", Cipher::aes256_gcm}};
inline constexpr std::pair<std::string_view, RsaKeyTransport> rsa_key_transport[] = {
    {"pkcs1v15", RsaKeyTransport::pkcs1v15}, {"oaep", RsaKeyTransport::oaep}};
inline constexpr std::pair<std::string_view, MissingCertificate> missing_certificate[] = {
    {"bounce", MissingCertificate::bounce},
    {"drop", MissingCertificate::drop},
    {"split", MissingCertificate::split},
    {"plain", MissingCertificate::plain}};
inline constexpr std::pair<std::string_view, MissingIdentity> missing_identity[] = {
    {"pass", MissingIdentity::pass}, {"reject", MissingIdentity::reject}};
inline constexpr std::pair<std::string_view, CmsEncoding> cms_encoding[] = {{"ber", CmsEncoding::ber},
                                                                            {"der", CmsEncoding::der}};
inline constexpr std::pair<std::string_view, Action> action[] = {{"accept", Action::accept},
                                                                 {"tempfail", Action::tempfail},
                                                                 {"reject", Action::reject},
                                                                 {"discard", Action::discard}};

inline constexpr std::pair<std::string_view, InboundAction> inbound_action[] = {
    {"deliver", InboundAction::deliver},
    {"quarantine", InboundAction::quarantine},
    {"reject", InboundAction::reject},
    {"tempfail", InboundAction::tempfail}};
inline constexpr std::pair<std::string_view, RevocationMethod> revocation_method[] = {
    {"ocsp", RevocationMethod::ocsp}, {"crl", RevocationMethod::crl}};
inline constexpr std::pair<std::string_view, Sha1Policy> sha1_policy[] = {{"refuse", Sha1Policy::refuse},
                                                                          {"accept", Sha1Policy::accept}};
inline constexpr std::pair<std::string_view, RevocationCache> revocation_cache[] = {
    {"files", RevocationCache::files}, {"keystore", RevocationCache::keystore}};
inline constexpr std::pair<std::string_view, Undetermined> undetermined[] = {
    {"fail-closed", Undetermined::fail_closed},
    {"fail-open", Undetermined::fail_open},
    {"tempfail", Undetermined::tempfail}};

}  // namespace conf::names
