// Inbound processing of messages as independent implementations and attackers make them: every message
// of the corpus (test/interop/make-inbound-corpus.sh: openssl, NSS cmsutil, Bouncy Castle) goes through
// process_inbound() with gw-new as the gateway key and the test root as trust anchor, and the result
// headers must say what its MANIFEST line says a correct receiving gateway reports. A message whose
// content is text must deliver its marker line "Corpus message: NAME" in the new content.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../smime/test_support.hpp"
#include "apply_verdict.hpp"
#include "conf/config.hpp"
#include "keystore/identity.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/inbound.hpp"
#include "milter/message.hpp"
#include "smime/mime.hpp"
#include "temp_dir.hpp"

namespace {

struct Expected {
  std::string file, made_by, content_type, decrypted, smime, identity, description;
};

std::string corpus_dir() {
  const char* d = std::getenv("SMIME_TEST_CORPUS");
  return d != nullptr ? d : SMIME_TEST_CORPUS_DEFAULT;
}

std::vector<Expected> manifest() {
  std::ifstream in(corpus_dir() + "/MANIFEST");
  REQUIRE(in.good());
  std::vector<Expected> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, '\t');) f.push_back(field);
    REQUIRE(f.size() == 7);
    out.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6]});
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The message as the MTA hands it over: headers, and the body after the empty line (CRLF line ends).
milter::Message message_of(const std::string& text) {
  const std::size_t end = text.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  milter::Message m;
  m.envelope.queue_id = "CORPUS";
  m.envelope.sender = "alice@example.org";
  m.envelope.recipients = {"gateway@example.com"};
  m.envelope.client_address = "192.0.2.7";
  m.headers = smime::mime::parse_headers(text.substr(0, end + 2));
  m.body = smime::Source::from_string(text.substr(end + 4));
  return m;
}

std::string header(const std::string& message, const std::string& name) {
  const std::size_t end = message.find("\r\n\r\n");
  return smime::mime::parse_headers(message.substr(0, end + 2)).get(name);
}

// "smime=pass" from "mx.example.com; smime=pass body.smime-identifier=alice@example.org (...)".
std::string result_of(const std::string& ar) {
  const std::size_t at = ar.find("smime=");
  if (at == std::string::npos) return ar.find("; none") != std::string::npos ? "none" : "?";
  const std::size_t end = ar.find_first_of(" ;(", at + 6);
  return ar.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

std::string identity_of(const std::string& ar) {
  const std::string key = "body.smime-identifier=";
  const std::size_t at = ar.find(key);
  if (at == std::string::npos) return "-";
  const std::size_t end = ar.find_first_of(" ;(", at + key.size());
  return ar.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
}

}  // namespace

TEST_CASE("inbound corpus: every message made by independent tools gets the result its manifest says",
          "[inbound][corpus]") {
  test::TempDir dir;
  std::filesystem::create_directory(dir.path("spool"));
  auto store = keystore::open_sqlite_store(dir.path("keystore.db"));
  const std::time_t now = std::time(nullptr);
  std::vector<smime::X509Ptr> chain;
  chain.push_back(test::cert("inter"));
  keystore::put_identity(*store, test::cert("gw-new").get(), test::key("gw-new").get(), chain, "",
                         static_cast<keystore::Time>(now));
  store->add_anchor(test::cert("root").get(), static_cast<keystore::Time>(now));
  conf::Config config = conf::parse(
      R"({"spool": {"directory": ")" + dir.path("spool") + R"("}, "revocation": {"enabled": false},
                     "inbound": {"authserv_id": "mx.example.com", "harvest": {"enabled": false}}})",
      "test");

  const std::vector<Expected> all = manifest();
  REQUIRE(all.size() >= 20);
  for (const Expected& e : all) {
    INFO(e.file << " (" << e.made_by << "): " << e.description);
    const std::string text = read_file(corpus_dir() + "/" + e.file);
    const milter::Message m = message_of(text);
    const milter::Verdict v = milter::process_inbound(config, *store, nullptr, m, now);
    std::string log;
    for (const auto& l : v.log) log += "  " + l.text + "\n";
    INFO(log);
    REQUIRE(v.action == conf::Action::accept);
    const std::string out = test::rebuild(m, v);
    const std::string ar = header(out, "Authentication-Results");
    INFO("Authentication-Results: " << ar);
    CHECK(header(out, "X-SMIME-Gateway-Decrypted") == e.decrypted);
    CHECK(result_of(ar) == e.smime);
    CHECK(identity_of(ar) == e.identity);
    // OpenSSL's error queue never reaches a header.
    CHECK(ar.find("error:") == std::string::npos);
    CHECK(ar.find("routines") == std::string::npos);
    const std::string marker = "Corpus message: " + e.file.substr(0, e.file.size() - 4);
    if (e.decrypted == "yes" && e.smime == "none" && e.file.find("binary") == std::string::npos) {
      // What was decrypted (text, no signature inside) is delivered: its marker is in the new message,
      // with CRLF line ends only.
      CHECK(out.find(marker) != std::string::npos);
      const std::string body = out.substr(out.find("\r\n\r\n") + 4);
      for (std::size_t i = 0; i < body.size(); ++i)
        if (body[i] == '\n') REQUIRE((i > 0 && body[i - 1] == '\r'));
    }
    if (e.file.find("raw-binary") != std::string::npos)
      CHECK(header(out, "Content-Type").find("application/octet-stream") != std::string::npos);
    if (e.file.find("raw-text") != std::string::npos)
      CHECK(header(out, "Content-Type").find("text/plain") != std::string::npos);
  }
}
