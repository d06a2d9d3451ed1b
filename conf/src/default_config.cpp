// The built-in configuration used by scripts/run: everything under ./var (relative to the working
// directory), a unix socket, outbound mail signed (detached) with the sender domain's identity, inbound
// mail decrypted and verified, revocation checked fail-closed.
#include "conf/config.hpp"

namespace conf {

namespace {
constexpr std::string_view default_json = R"json({
  "comment": "Built-in default of smime-milter (scripts/run): state under ./var, sign outbound mail.",
  "listen": "unix:./var/run/milter.sock",
  "spool": { "directory": "./var/spool", "memory_limit": "4M" },
  "keystore": { "path": "./var/keystore.db" },
  "log": { "level": "info", "foreground_stderr": true },
  "direction": {
    "internal_networks": ["127.0.0.0/8", "::1/128"],
    "internal_domains": [],
    "authenticated_is_outbound": true
  },
  "profiles": {
    "sign": {
      "comment": "Detached signature (readable without S/MIME support) by the sender domain's identity.",
      "mode": "sign",
      "sign_mode": "detached",
      "signing_identity": "sender-domain",
      "digest": "sha256"
    }
  },
  "outbound": {
    "skip_already_protected": true,
    "rules": [],
    "default_profile": "sign"
  },
  "failure_actions": {
    "internal": "tempfail",
    "keystore": "tempfail",
    "no_certificate": "reject",
    "bad_input": "reject",
    "signing": "reject"
  },
  "trace_header": "X-SMIME-Milter",
  "limits": { "max_message_size": "100M", "mime_depth": 32, "mime_parts": 10000 },
  "inbound": {
    "comment": "Decrypt and verify mail from outside; results in Authentication-Results (authserv-id: host name).",
    "decrypt": true,
    "verify": true,
    "remove_signature": false,
    "actions": { "fail": "deliver", "permerror": "deliver", "temperror": "deliver",
                 "undecryptable": "deliver", "unauthenticated": "deliver" },
    "harvest": { "enabled": true }
  },
  "revocation": {
    "enabled": true,
    "order": ["ocsp", "crl"],
    "encrypt": "fail-closed",
    "verify": "fail-closed",
    "cache_directory": "./var/revocation"
  }
}
)json";
}  // namespace

std::string_view default_config_json() { return default_json; }

Config default_config() { return parse(default_json, "<built-in default>"); }

}  // namespace conf
