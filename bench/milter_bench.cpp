// smime-milter-bench: what the milter's decision pipeline costs on top of the S/MIME core, in-process.
//
// For 4 KiB and 1 MiB messages it times, each for at least --min-time seconds:
//  - inbound: a detached signature (alice) and a sign-then-encrypt message (alice to the gateway,
//  AES-256-CBC)
//    through milter::process_inbound (real SQLite keystore, trust anchors, harvest on: "already known"
//    after the first message; no revocation checker), beside the core alone (verify; decrypt + verify);
//  - outbound: sign + encrypt to alice through milter::process_outbound, beside smime::sign_encrypt alone.
// The difference is the pipeline's own cost: keystore lookups, anchors, header edits, harvest bookkeeping.
// Prints figures and asserts nothing about speed; an operation whose verdict is not the expected one
// prints FAILED and makes the exit status 1. Usage: smime-milter-bench --pki DIR [--min-time SECONDS]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "milter/inbound.hpp"
#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/outbound.hpp"
#include "smime/smime.hpp"

namespace {

struct Pki {
  std::string dir;
  smime::X509Ptr cert(const std::string& name) const {
    return std::move(smime::load_certificates(smime::read_file(dir + "/" + name + ".pem")).front());
  }
  smime::PkeyPtr key(const std::string& name) const {
    return smime::load_private_key(smime::read_file(dir + "/" + name + ".key"));
  }
};

// Runs fn until min_time has passed (at least 3 times); returns operations per second.
double rate(double min_time, const std::function<bool()>& fn, bool& ok) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  long n = 0;
  double elapsed = 0;
  do {
    if (!fn()) ok = false;
    ++n;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < min_time || n < 3);
  return static_cast<double>(n) / elapsed;
}

std::string body_of(std::size_t size) {
  std::string line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n";
  std::string body;
  while (body.size() < size) body += line;
  body.resize(size - 2);
  return body + "\r\n";
}

// A whole message from routing headers and an entity (its header block joins them).
milter::Message message_of(const std::string& entity, const std::string& client) {
  const std::string whole =
      "From: alice@example.org\r\nTo: gateway@example.com\r\nSubject: bench\r\nMIME-Version: 1.0\r\n" +
      entity;
  const auto end = whole.find("\r\n\r\n");
  milter::Message m;
  m.envelope.queue_id = "BENCH";
  m.envelope.sender = "alice@example.org";
  m.envelope.recipients = {"gateway@example.com"};
  m.envelope.client_address = client;
  m.headers = smime::mime::parse_headers(whole.substr(0, end + 2));
  m.body = smime::Source::from_string(whole.substr(end + 4));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Pki pki;
  double min_time = 1.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--pki" && i + 1 < argc)
      pki.dir = argv[++i];
    else if (a == "--min-time" && i + 1 < argc)
      min_time = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: smime-milter-bench --pki DIR [--min-time SECONDS]\n");
      return 2;
    }
  }
  if (pki.dir.empty() || min_time <= 0) {
    std::fprintf(stderr, "usage: smime-milter-bench --pki DIR [--min-time SECONDS]\n");
    return 2;
  }
  try {
    const std::filesystem::path tmp =
        std::filesystem::temp_directory_path() / ("smime-milter-bench." + std::to_string(getpid()));
    std::filesystem::create_directories(tmp / "spool");
    struct Cleanup {
      std::filesystem::path p;
      ~Cleanup() { std::filesystem::remove_all(p); }
    } cleanup{tmp};
    const std::time_t now = std::time(nullptr);
    auto store = keystore::open_sqlite_store((tmp / "keystore.db").string());
    std::vector<smime::X509Ptr> chain;
    chain.push_back(pki.cert("inter"));
    keystore::put_identity(*store, pki.cert("gw-new").get(), pki.key("gw-new").get(), chain, "", now);
    store->add_anchor(pki.cert("root").get(), now);
    smime::X509Ptr alice_cert = pki.cert("alice");
    store->add(keystore::NewCertificate{alice_cert.get(), keystore::Origin::imported, now, {}, {}});
    const conf::Config config =
        conf::parse(R"({"spool": {"directory": ")" + (tmp / "spool").string() +
                        R"("}, "inbound": {"authserv_id": "bench"}, "revocation": {"enabled": false}})",
                    "bench");
    conf::Profile profile;
    profile.name = "bench";
    profile.mode = conf::Mode::sign_encrypt;
    profile.signing_identity.kind = conf::SignerChoice::Kind::sender_domain;
    profile.cipher = conf::Cipher::aes256_cbc;

    smime::SigningIdentity alice{pki.cert("alice"), pki.key("alice"), {}};
    alice.chain.push_back(pki.cert("inter"));
    smime::SigningIdentity gateway{pki.cert("gw-new"), pki.key("gw-new"), {}};
    gateway.chain.push_back(pki.cert("inter"));
    std::vector<smime::Recipient> to_gateway, to_alice;
    to_gateway.push_back({pki.cert("gw-new"), smime::RsaKeyTransport::pkcs1v15, {}});
    to_alice.push_back({pki.cert("alice"), smime::RsaKeyTransport::pkcs1v15, {}});
    std::vector<smime::DecryptionKey> keys;
    keys.push_back({pki.cert("gw-new"), pki.key("gw-new")});
    smime::VerifyOptions vopts;
    vopts.anchors.push_back(pki.cert("root"));
    smime::EncryptOptions eopts;
    eopts.cipher = smime::Cipher::aes256_cbc;

    std::printf("%-44s %10s %12s %12s %8s\n", "operation", "size", "core op/s", "milter op/s", "share");
    bool ok = true;
    for (std::size_t size : {std::size_t{4096}, std::size_t{1} << 20}) {
      const std::string content = "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body_of(size);
      const smime::Source csrc = smime::Source::from_string(content);
      const smime::mime::Entity centity = smime::mime::parse(csrc, csrc.all());
      smime::StringSink signed_out, enc_out;
      smime::sign(csrc, centity, alice, {}, signed_out);
      smime::sign_encrypt(csrc, centity, alice, {}, to_gateway, eopts, enc_out);
      const std::string signed_entity = signed_out.take(), enc_entity = enc_out.take();
      const milter::Message in_signed = message_of(signed_entity, "192.0.2.1");
      const milter::Message in_enc = message_of(enc_entity, "192.0.2.1");
      milter::Message out_plain = message_of(content, "127.0.0.1");
      out_plain.envelope.sender = "user@example.com";
      out_plain.envelope.recipients = {"alice@example.org"};
      const std::string label = size == 4096 ? "4 KiB" : "1 MiB";

      auto line = [&](const char* what, const std::function<bool()>& core,
                      const std::function<bool()>& pipe) {
        const double c = rate(min_time, core, ok), p = rate(min_time, pipe, ok);
        std::printf("%-44s %10s %12.1f %12.1f %7.0f%%\n", what, label.c_str(), c, p, 100.0 * p / c);
      };
      auto ar_has = [](const milter::Verdict& v, const char* what) {
        for (const auto& e : v.header_edits)
          if (e.name == "Authentication-Results" && e.value.find(what) != std::string::npos) return true;
        return false;
      };
      line(
          "inbound: verify detached",
          [&] {
            const smime::Source s = smime::Source::from_string(signed_entity);
            smime::StringSink sink;
            return smime::verify(s, smime::mime::parse(s, s.all()), vopts, &sink).ok();
          },
          [&] {
            return ar_has(milter::process_inbound(config, *store, nullptr, in_signed, now), "smime=pass");
          });
      line(
          "inbound: decrypt + verify (sign-encrypt, CBC)",
          [&] {
            const smime::Source s = smime::Source::from_string(enc_entity);
            smime::StringSink plain;
            smime::decrypt(s, smime::mime::parse(s, s.all()), keys, plain);
            const smime::Source p = smime::Source::from_string(plain.take());
            smime::StringSink sink;
            return smime::verify(p, smime::mime::parse(p, p.all()), vopts, &sink).ok();
          },
          [&] {
            return ar_has(milter::process_inbound(config, *store, nullptr, in_enc, now), "smime=pass");
          });
      line(
          "outbound: sign + encrypt (CBC, 1 recipient)",
          [&] {
            smime::StringSink sink;
            smime::sign_encrypt(csrc, centity, gateway, {}, to_alice, eopts, sink);
            return !sink.take().empty();
          },
          [&] {
            const milter::Verdict v =
                milter::process_outbound(config, *store, nullptr, out_plain, profile, now);
            return v.action == conf::Action::accept && v.new_body.has_value();
          });
    }
    if (!ok) std::printf("FAILED: a verdict was not the expected one\n");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smime-milter-bench: %s\n", e.what());
    return 1;
  }
}
