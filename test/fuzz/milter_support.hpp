// Shared by the milter's fuzz targets (fuzz_inbound, fuzz_filter): a throwaway gateway made once per
// process, the message as the MTA hands it over, and the properties of a verdict.
//
// The gateway is a temporary directory (removed at exit) with a spool and an SQLite keystore holding
// the test PKI's gateway identities gw-old and gw-new (chain: inter), the certificates of alice, bob,
// carol and domain, and the root as trust anchor, so that decryption, verification, signing and
// encryption really run. Outbound, a field "X-Fuzz-Profile: NAME" picks one of the profiles sign,
// opaque, address, encrypt, sign-encrypt, triple and split (milter_support.cpp); the default signs. Revocation is disabled; the jobs run without side
// effects (no harvest, no last-use mark), so that one input gives the same verdict whenever it runs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "milter/message.hpp"

namespace fuzz {

inline constexpr std::string_view kAuthservId = "mx.example.com";

struct Gateway {
  std::string directory;  // the temporary directory
  std::string spool;      // spool.directory
  std::string keystore;   // the SQLite file (keystore.path)
  // spool.memory_limit 16K (larger bodies and decrypted contents go to spool files), max message size
  // 256K, revocation disabled, inbound.authserv_id kAuthservId; the example's defaults otherwise.
  std::shared_ptr<const conf::Config> config;
  std::unique_ptr<keystore::Store> store;  // the keystore, opened once
};

// The process's gateway, made at the first call (aborts when the test PKI is missing).
Gateway& gateway();

// The whole message `text` as the MTA hands it to a milter: the header fields up to the first empty
// line (CRLF or LF), the body after it with CRLF line ends (no empty line: headers only).
milter::Message message_of(std::string_view text);

// The properties every verdict has (aborts with the broken one): a known action; a reply only for
// reject and tempfail, with a 5xx or 4xx code, and no OpenSSL error text; header edits with field names
// and values that cannot start a header field of their own; a body with CRLF line ends; no failure of
// class internal in the log. With action accept, the edits applied to the message as the MTA applies
// them (a change names an existing field) leave exactly one Authentication-Results field of ours, and
// at most one copy of each simple result header. With action accept outbound and a new body, the entity
// left (Content-* fields after the edits, the body) parses, and each layer the trace header names is
// readable: a signature verifies against the test root, an enveloped layer decrypts with the
// recipients' keys, and its content is MIME.
void check_verdict(const conf::Config& config, const milter::Message& message, const milter::Verdict& verdict,
                   bool inbound);

// No file is left in the spool directory (every spool file goes with its message or verdict).
void check_spool_empty(const Gateway& g);

}  // namespace fuzz
