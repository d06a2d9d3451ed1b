// Internal: values with a syntax of their own, as the key table checks them. Each *_problem() returns
// why a string is refused, "" when it is fine; each *_value() reads a JSON value into its typed form and
// reports what is wrong at `path`.
#pragma once

#include <optional>
#include <string>

#include "reader.hpp"

namespace conf::detail {

// A header field name we write (trace_header, inbound.headers.*): printable ASCII without space or colon,
// at most 76 bytes, none of the message's own fields; "" turns the field off.
std::string header_name_problem(const std::string& s);
// A header field name a rule matches: printable ASCII without space or colon.
std::string header_condition_name_problem(const std::string& s);
// An RFC 8601 authserv-id: a token and a domain-like name (letters, digits, '.', '-', '_').
std::string authserv_id_problem(const std::string& s);
// A libpq connection string: a URL (postgresql://, postgres://) or keyword=value pairs. The text is never
// quoted back: it may hold a password.
std::string libpq_problem(const std::string& s);
// A systemd credential name: a file name in $CREDENTIALS_DIRECTORY.
std::string credential_name_problem(const std::string& s);
// A user or group name; "" is a value (the default).
std::string account_name_problem(const std::string& s);

// "sender-domain", "sender-address", or a SHA-256 fingerprint (64 hex digits, colons and case free).
bool signer_choice_value(Ctx& ctx, const json& v, const std::string& path, SignerChoice& out);
// Permission bits as an octal string, "0660" or "660", at most 0777.
bool socket_mode_value(Ctx& ctx, const json& v, const std::string& path, unsigned& out);
// "HOST:PORT" on a loopback address (127.0.0.0/8, [::1]); "" is off.
bool metrics_listen_value(Ctx& ctx, const json& v, const std::string& path, std::optional<Endpoint>& out);

}  // namespace conf::detail
