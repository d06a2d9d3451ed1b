// Malformed input, deterministically: seeded mutations (flipped bytes, truncation, inserted junk) of
// real signed and encrypted messages go through parse, canonical form, verify and decrypt. Each may
// only end in a verdict or an smime::Error with a message; the sanitizer build turns any memory error
// into a failure. Bounded: a fixed count of mutations per message.
#include <catch2/catch.hpp>
#include <random>

#include "test_support.hpp"

using namespace smime;

namespace {

const std::string kEntity =
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
    "--outer\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Gr\xC3\xBC\xC3\x9F"
    "e\r\n"
    "--outer\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"
    "--outer--\r\n";

std::string mutate(const std::string& s, std::mt19937& rng) {
  std::string m = s;
  std::uniform_int_distribution<std::size_t> pos(0, m.size() - 1);
  switch (rng() % 4) {
    case 0:  // flip a few bytes
      for (int i = 0; i < 1 + static_cast<int>(rng() % 4); ++i) m[pos(rng)] = static_cast<char>(rng());
      break;
    case 1:  // truncate
      m.resize(pos(rng));
      break;
    case 2:  // insert junk
      m.insert(pos(rng), std::string(1 + rng() % 40, static_cast<char>('!' + rng() % 90)));
      break;
    default:  // drop a slice
      m.erase(pos(rng), 1 + rng() % 64);
      break;
  }
  return m;
}

// Runs everything a gateway would run on an incoming message; returns false only on an exception
// that is not an smime::Error or an Error without a message.
bool survives(const std::string& text, const std::vector<DecryptionKey>& keys, const VerifyOptions& trust) {
  try {
    test::Parsed p = test::parse(text);
    StringSink canonical;
    mime::write_canonical(p.src, p.root, canonical);
    StringSink content;
    (void)verify(p.src, p.root, trust, &content);
    StringSink plain;
    (void)decrypt(p.src, p.root, keys, plain);
  } catch (const Error& e) {
    return std::string(e.what()).size() > 5;
  } catch (const std::exception& e) {
    UNSCOPED_INFO("unexpected exception: " << e.what());
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("mutated signed and encrypted messages end in a verdict or a clear error, never a crash",
          "[robustness]") {
  test::Parsed in = test::parse(kEntity);
  std::vector<std::string> messages;
  for (SignMode mode : {SignMode::detached, SignMode::opaque}) {
    SignOptions opt;
    opt.mode = mode;
    StringSink out;
    sign(in.src, in.root, test::identity("alice"), opt, out);
    messages.push_back(out.take());
  }
  for (auto cipher : {Cipher::aes256_cbc, Cipher::aes256_gcm}) {
    std::vector<Recipient> to;
    to.push_back(test::recipient("alice"));
    to.push_back(test::recipient("carol"));
    EncryptOptions opt;
    opt.cipher = cipher;
    StringSink out;
    encrypt(in.src, in.root, to, opt, out);
    messages.push_back(out.take());
  }
  std::vector<DecryptionKey> keys;
  keys.push_back(test::decryption_key("alice"));
  keys.push_back(test::decryption_key("carol"));
  const VerifyOptions trust = test::trust_root();

  std::mt19937 rng(20261122);  // fixed seed: the same inputs on every run
  int rounds = 0;
  for (const auto& m : messages) {
    REQUIRE(survives(m, keys, trust));
    for (int i = 0; i < 150; ++i, ++rounds) {
      std::string bad = mutate(m, rng);
      INFO("message " << (&m - messages.data()) << " mutation " << i);
      CHECK(survives(bad, keys, trust));
    }
  }
  CHECK(rounds == 600);
}
