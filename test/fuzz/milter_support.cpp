#include "milter_support.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "conf/match.hpp"
#include "filter_program.hpp"
#include "fuzz_support.hpp"
#include "header_edits.hpp"
#include "keystore/identity.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/auth_results.hpp"
#include "milter/logging.hpp"
#include "smime/classify.hpp"
#include "smime/decrypt.hpp"
#include "smime/verify.hpp"

namespace fuzz {
namespace {

// Removes the temporary directory at exit (after the store, which goes first with the Gateway).
struct Cleanup {
  std::string directory;
  ~Cleanup() {
    std::error_code ec;
    std::filesystem::remove_all(directory, ec);
  }
};

std::string make_temp_directory() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/smime-fuzz.XXXXXX";
  require(::mkdtemp(templ.data()) != nullptr, "mkdtemp for the throwaway gateway");
  return templ;
}

// The outbound profiles (filter_program::kOutboundProfiles), one of each kind of work; a message picks
// one by a field "X-Fuzz-Profile: NAME" (the default signs). The JSON object of each, by name.
constexpr std::pair<std::string_view, std::string_view> kProfiles[] = {
    {"sign", R"({"mode": "sign"})"},
    {"opaque", R"({"mode": "sign", "sign_mode": "opaque", "encoding": "der", "digest": "sha384",
                   "rsa_signature_padding": "pss"})"},
    {"address", R"({"mode": "sign", "signing_identity": "sender-address", "missing_identity": "reject"})"},
    {"encrypt", R"({"mode": "encrypt", "missing_certificate": "drop", "cipher": "aes256-gcm"})"},
    {"sign-encrypt", R"({"mode": "sign-encrypt", "rsa_key_transport": "oaep"})"},
    {"triple", R"({"mode": "triple", "missing_certificate": "plain", "encoding": "der"})"},
    {"split", R"({"mode": "encrypt", "missing_certificate": "split"})"},
};

std::string outbound_json() {
  // The seeds name these profiles: a name without one here would silently fall to the default.
  for (const char* name : filter_program::kOutboundProfiles)
    require(std::any_of(std::begin(kProfiles), std::end(kProfiles),
                        [&](const auto& p) { return p.first == name; }),
            "every outbound profile the seeds name is configured");
  std::string profiles, rules;
  for (const auto& [name, profile] : kProfiles) {
    if (!profiles.empty()) profiles += ", ", rules += ", ";
    profiles += "\"" + std::string(name) + "\": " + std::string(profile);
    rules += R"({"match": {"header": [{"name": "X-Fuzz-Profile", "equals": ")" + std::string(name) +
             R"("}]}, "profile": ")" + std::string(name) + "\"}";
  }
  return R"("profiles": {)" + profiles + R"(}, "outbound": {"rules": [)" + rules +
         R"(], "default_profile": "sign"}, "reinjection": {"port": 10026})";
}

std::shared_ptr<const conf::Config> make_config(const Gateway& g) {
  const std::string json = R"({"spool": {"directory": ")" + g.spool +
                           R"(", "memory_limit": "16K"}, "limits": {"max_message_size": "256K"},)"
                           R"( "keystore": {"path": ")" +
                           g.keystore + R"("}, "revocation": {"cache_directory": ")" + g.directory +
                           R"(/revocation"}, )" + outbound_json() + "}";
  conf::Config c = conf::parse(json, "fuzz");
  c.inbound.authserv_id = std::string(kAuthservId);
  c.revocation.enabled = false;
  return std::make_shared<const conf::Config>(std::move(c));
}

// The gateway's identities (certificate and key), and the users whose certificates the keystore
// holds beside them (recipients with a certificate).
constexpr const char* kGatewayIdentities[] = {"gw-old", "gw-new"};
constexpr const char* kRecipients[] = {"alice", "bob", "carol", "domain"};

Gateway make_gateway() {
  milter::logging::init(conf::LogLevel::debug, false, false);  // every line built, none written
  Gateway g;
  g.directory = make_temp_directory();
  g.spool = g.directory + "/spool";
  g.keystore = g.directory + "/keystore.db";
  std::filesystem::create_directory(g.spool);
  g.store = keystore::open_sqlite_store(g.keystore);
  const keystore::Time now = static_cast<keystore::Time>(std::time(nullptr));
  for (const char* gw : kGatewayIdentities) {
    std::vector<smime::X509Ptr> chain;
    chain.push_back(pki_certificate("inter.pem"));
    keystore::put_identity(*g.store, pki_certificate(std::string(gw) + ".pem").get(),
                           pki_private_key(std::string(gw) + ".key").get(), chain, "", now);
  }
  for (const char* user : kRecipients) {
    smime::X509Ptr cert = pki_certificate(std::string(user) + ".pem");
    g.store->add(keystore::NewCertificate{cert.get(), keystore::Origin::imported, now, {}, {}});
  }
  g.store->add_anchor(pki_certificate("root.pem").get(), now);
  g.config = make_config(g);
  return g;
}

bool name_is(std::string_view name, std::string_view wanted) {
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return conf::iequals(name, wanted);
}

// A field name the MTA can write: printable ASCII without colon or white space.
bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 32 || c >= 127 || c == ':') return false;
  }
  return true;
}

// A value that stays one field: line ends only as CRLF followed by white space (folding), no NUL.
bool single_field_value(std::string_view v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\0') return false;
    if (v[i] == '\r' && (i + 1 >= v.size() || v[i + 1] != '\n')) return false;
    if (v[i] == '\n') {
      if (i == 0 || v[i - 1] != '\r') return false;
      if (i + 1 >= v.size() || (v[i + 1] != ' ' && v[i + 1] != '\t')) return false;
    }
  }
  return true;
}

bool crlf_line_ends(const smime::Source& body) {
  const std::string text = body.slice(body.all());
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return false;
  return true;
}

// The header fields after the edits, as the MTA applies them.
smime::mime::HeaderList apply_edits(const milter::Message& m, const milter::Verdict& v) {
  std::optional<smime::mime::HeaderList> h = test::apply_header_edits(m, v);
  require(h.has_value(), "a header change names an existing field");
  return std::move(*h);
}

std::size_t count_named(const smime::mime::HeaderList& h, std::string_view name) {
  std::size_t n = 0;
  for (const auto& item : h.items)
    if (name_is(item.name, name)) ++n;
  return n;
}

// The layers the gateway made, from its trace header: "signed ...", "encrypted ...", "signed again".
int layers_made(const conf::Config& config, const milter::Verdict& v) {
  for (const milter::HeaderEdit& e : v.header_edits) {
    if (e.kind != milter::HeaderEdit::Kind::add || !name_is(e.name, config.trace_header)) continue;
    const std::string_view trace = e.value;
    return (trace.starts_with("signed ") ? 1 : 0) +
           (trace.find("encrypted ") != std::string_view::npos &&
                    trace.find("not encrypted") == std::string_view::npos
                ? 1
                : 0) +
           (trace.find("signed again") != std::string_view::npos ? 1 : 0);
  }
  return 0;
}

// What a recipient or verifier reads of the `layers` outer layers the gateway made: a signature
// verifies against the test root, an enveloped entity decrypts with the recipients' keys, and what
// is inside is a MIME entity. (What the author had protected inside may be anything.)
void check_readable(const smime::Source& src, const smime::mime::Entity& e, int layers) {
  static const smime::VerifyOptions trust = [] {
    smime::VerifyOptions o;
    std::vector<smime::X509Ptr> anchors;
    anchors.push_back(pki_certificate("root.pem"));
    o.trust_store = smime::make_trust_store(anchors);
    return o;
  }();
  static const std::vector<smime::DecryptionKey> keys = [] {  // every certificate's in the keystore
    std::vector<smime::DecryptionKey> k;
    auto add = [&](std::string_view name) {
      k.push_back({pki_certificate(std::string(name) + ".pem"), pki_private_key(std::string(name) + ".key")});
    };
    for (const char* name : kRecipients) add(name);
    for (const char* name : kGatewayIdentities) add(name);
    return k;
  }();
  const smime::SmimeType type = smime::classify(src, e).type;
  smime::StringSink content;
  if (type == smime::SmimeType::multipart_signed || type == smime::SmimeType::signed_data) {
    const smime::VerifyResult r = smime::verify(src, e, trust, &content);
    if (!r.ok()) std::fprintf(stderr, "verify: %s\n", r.reason.c_str());
    require(r.ok(), "a signature the gateway made verifies");
  } else if (type == smime::SmimeType::enveloped_data || type == smime::SmimeType::auth_enveloped_data) {
    try {
      smime::decrypt(src, e, keys, content);
    } catch (const smime::Error& err) {
      std::fprintf(stderr, "decrypt: %s\n", err.what());
      require(false, "a message the gateway encrypted decrypts with its recipients' keys");
    }
  } else {
    require(false, "the gateway's layer is S/MIME");
  }
  smime::Source inner = smime::Source::from_string(content.take());
  smime::mime::Entity content_entity;
  try {
    content_entity = smime::mime::parse(inner, inner.all());
  } catch (const smime::Error& err) {
    std::fprintf(stderr, "content: %s\n", err.what());
    require(false, "the content the gateway protected is a MIME entity");
  }
  if (layers > 1) check_readable(inner, content_entity, layers - 1);
}

// The entity an outbound verdict that rewrote the message leaves (the Content-* fields after the
// edits, the new body) parses as MIME, and what the gateway made of it is readable by its recipients.
// (The other fields are the MTA's, whatever names it gave them.)
void check_outbound_result(const conf::Config& config, const smime::mime::HeaderList& after,
                           const milter::Verdict& v) {
  if (!v.new_body) return;
  smime::mime::Entity root;
  try {
    root = smime::mime::parse_body(*v.new_body, v.new_body->all(),
                                   smime::mime::split_content_headers(after).content);
  } catch (const smime::Error& err) {
    smime::StringSink head;
    smime::mime::write_headers(smime::mime::split_content_headers(after).content, head);
    const std::string body = v.new_body->slice({0, std::min<std::uint64_t>(v.new_body->size(), 600)});
    std::fprintf(stderr, "parse: %s\n%s\n%s\n", err.what(), head.str().c_str(), body.c_str());
    require(false, "the entity the gateway made parses as MIME");
  }
  const int layers = layers_made(config, v);
  if (layers > 0) check_readable(*v.new_body, root, layers);
}

}  // namespace

Gateway& gateway() {
  static Cleanup cleanup;  // constructed first, destroyed last
  static Gateway g = [] {
    Gateway made = make_gateway();
    cleanup.directory = made.directory;
    return made;
  }();
  return g;
}

milter::Message message_of(std::string_view text) {
  std::size_t header_length = text.size(), body_offset = text.size();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') continue;
    if (i + 1 < text.size() && text[i + 1] == '\n') {
      header_length = i + 1, body_offset = i + 2;
      break;
    }
    if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') {
      header_length = i + 1, body_offset = i + 3;
      break;
    }
  }
  milter::Message m;
  m.envelope.queue_id = "FUZZ";
  m.envelope.sender = "alice@example.org";
  m.envelope.recipients = {"gateway@example.com"};
  m.envelope.client_address = "192.0.2.7";  // not internal: inbound
  m.headers = smime::mime::parse_headers(text.substr(0, header_length));
  smime::StringSink body;
  smime::CrlfSink crlf(body);
  crlf.write(text.substr(body_offset));
  crlf.finish();
  m.body = smime::Source::from_string(body.take());
  return m;
}

void check_verdict(const conf::Config& config, const milter::Message& message, const milter::Verdict& v,
                   bool inbound) {
  using conf::Action;
  require(v.action == Action::accept || v.action == Action::reject || v.action == Action::tempfail ||
              v.action == Action::discard,
          "a known action");
  if (v.action == Action::reject) require(v.reply.code.starts_with('5'), "a reject has a 5xx reply");
  if (v.action == Action::tempfail) require(v.reply.code.starts_with('4'), "a tempfail has a 4xx reply");
  if (v.action == Action::accept || v.action == Action::discard)
    require(v.reply.empty(), "no reply without reject or tempfail");
  require(v.reply.text.find("error:") == std::string::npos, "no OpenSSL error text in a reply");
  for (const milter::LogEntry& l : v.log) {
    // failure_verdict's line starts with its class (a value elsewhere in a line is quoted input).
    const bool internal = l.text.starts_with("failure=internal");
    if (internal) std::fprintf(stderr, "log: %s\n", l.text.c_str());
    require(!internal, "no internal failure");
  }
  for (const milter::HeaderEdit& e : v.header_edits) {
    require(valid_field_name(e.name) || e.kind == milter::HeaderEdit::Kind::change,
            "an added field has a valid name");
    require(single_field_value(e.value), "a header value cannot start a field of its own");
  }
  if (v.new_body) require(crlf_line_ends(*v.new_body), "the new body has CRLF line ends");
  for (const std::string& r : v.remove_recipients)
    require(std::find(message.envelope.recipients.begin(), message.envelope.recipients.end(), r) !=
                message.envelope.recipients.end(),
            "a removed recipient is one of the message's");
  if (v.action != Action::accept) return;

  const smime::mime::HeaderList after = apply_edits(message, v);
  if (!inbound) {
    check_outbound_result(config, after, v);
    return;
  }
  std::size_t ours = 0;
  for (const auto& item : after.items)
    if (name_is(item.name, "Authentication-Results") &&
        milter::auth_results::is_ours(item.unfolded(), config.inbound.authserv_id))
      ++ours;
  require(ours == 1, "an accepted inbound message has exactly one Authentication-Results of ours");
  for (const std::string* name :
       {&config.inbound.headers.smime, &config.inbound.headers.decrypted, &config.inbound.headers.verified})
    if (!name->empty()) require(count_named(after, *name) <= 1, "at most one copy of a simple result header");
}

void check_spool_empty(const Gateway& g) {
  std::error_code ec;
  require(std::filesystem::is_empty(g.spool, ec) && !ec, "no file left in the spool");
}

}  // namespace fuzz
