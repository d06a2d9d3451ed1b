// The Authentication-Results header field (RFC 8601) for method smime (RFC 7281): building our value,
// and recognising our authserv-id in a field that arrived with the message (forged results are removed).
//
// RFC 7281 section 4 registers the property `body.smime-identifier` (ptype "body", not "header"): the
// identity is taken from the signer certificate that signed the message body, not from a header field,
// and RFC 7281 registers `body.smime-part`, `body.smime-serial` and `body.smime-issuer` besides it. The
// issue text said `header.smime-identifier`; we follow the RFC.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace milter::auth_results {

// The smime result values (RFC 8601 section 2.7.1 / RFC 7281 section 3).
enum class Result { none, pass, neutral, temperror, permerror, fail };
std::string_view to_string(Result r);
// How bad a result is, for combining layers: pass < none < neutral < temperror < permerror < fail.
int severity(Result r);

// A property value (RFC 8601 pvalue): an address whose local part is not a dot-atom gets its local part
// quoted (RFC 5322 quoted-string); any other value that is not a dot-atom is quoted whole.
std::string property_value(std::string_view value);
// A comment "(...)": backslash, parentheses and quotes escaped as quoted-pairs, control characters and
// bytes >= 0x80 replaced by a space or '?', at most `max` bytes of text.
std::string comment(std::string_view text, std::size_t max = 300);

// "<authserv-id>; none" when result is none and there is no identifier and no reason; otherwise
// "<authserv-id>; smime=<result> [body.smime-identifier=<identifier>] [(<reason>)]".
std::string header_value(std::string_view authserv_id, Result result, std::string_view identifier,
                         std::string_view reason);

// The authserv-id of a field value: the first token (or quoted-string) before ';', comments and white
// space skipped; a version number after it is not part of it. nullopt when there is none.
std::optional<std::string> authserv_id_of(std::string_view field_value);
// True when the field's authserv-id equals `ours` (case-insensitive).
bool is_ours(std::string_view field_value, std::string_view ours);

}  // namespace milter::auth_results
