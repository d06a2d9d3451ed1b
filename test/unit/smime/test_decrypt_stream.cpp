// Streaming decryption of large messages: 10-100 MiB EnvelopedData and AuthEnvelopedData made by our
// own encryption (indefinite-length BER, chunked content), by `openssl cms` (definite-length DER, and
// BER with -stream), `openssl smime` and NSS cmsutil, in base64 and binary transfer encoding, read from
// files; constructed OCTET STRING content in several shapes; and the errors of truncated, tampered and
// malformed large messages. Outputs are compared by SHA-256 with the encrypted entity. Every message
// here is over the 4 MiB below which a body the streaming scanner rejects is given to OpenSSL whole,
// so each one goes through the streaming path. How much memory that takes is a benchmark's question
// (smime-bench --peak-memory), not a test's.
#include <openssl/asn1.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <random>

#include "temp_dir.hpp"
#include "test_support.hpp"

using namespace smime;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// SHA-256 and count of what is written.
class HashSink final : public Sink {
 public:
  HashSink() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void write(std::string_view bytes) override {
    EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
    count_ += bytes.size();
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    MdCtxPtr copy(EVP_MD_CTX_new());
    EVP_MD_CTX_copy_ex(copy.get(), ctx_.get());
    EVP_DigestFinal_ex(copy.get(), md, &n);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out.push_back(digits[md[i] >> 4]);
      out.push_back(digits[md[i] & 15]);
    }
    return out;
  }
  std::uint64_t count() const { return count_; }

 private:
  MdCtxPtr ctx_;
  std::uint64_t count_ = 0;
};

// Forwards writes; finish() leaves the next sink open.
class KeepOpen final : public Sink {
 public:
  explicit KeepOpen(Sink& next) : next_(next) {}
  void write(std::string_view bytes) override { next_.write(bytes); }

 private:
  Sink& next_;
};

struct Plain {
  std::string sha256;
  std::uint64_t size = 0;
};

// A MIME entity of about `size` bytes: application/octet-stream, base64 of pseudo-random bytes.
Plain write_entity(std::uint64_t size, Sink& out) {
  HashSink hash;
  TeeSink tee(out, hash);
  KeepOpen keep(tee);
  keep.write("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
  Base64Sink b64(keep);
  std::uint64_t state = 0x9e3779b97f4a7c15u;
  std::string block(48 * 1024, '\0');
  for (std::uint64_t done = 0; done < size / 4 * 3; done += block.size()) {
    for (char& c : block) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      c = static_cast<char>(state >> 56);
    }
    b64.write(block);
  }
  b64.finish();
  return Plain{hash.hex(), hash.count()};
}

std::vector<Recipient> to_alice() {
  std::vector<Recipient> r;
  r.push_back(test::recipient("alice"));
  return r;
}

std::vector<DecryptionKey> alice_keys() {
  std::vector<DecryptionKey> k;
  k.push_back(test::decryption_key("bob"));  // not a recipient: alice's key is chosen by the recipient ids
  k.push_back(test::decryption_key("alice"));
  return k;
}

// Our own encryption, streamed to a file: indefinite-length BER, base64.
Plain encrypt_ours(std::uint64_t size, Cipher cipher, const std::string& path) {
  FileSink file(path);
  EncryptOptions o;
  o.cipher = cipher;
  EncryptStream enc(to_alice(), o, file);
  const Plain p = write_entity(size, enc);
  enc.finish();
  file.finish();
  return p;
}

Plain write_plain_file(std::uint64_t size, const std::string& path) {
  FileSink file(path);
  const Plain p = write_entity(size, file);
  file.finish();
  return p;
}

void run(const std::string& command, const test::TempDir& dir) {
  INFO(command);
  const std::string log = dir.path("command.log");
  const int rc = std::system((command + " >" + log + " 2>&1 </dev/null").c_str());
  if (rc != 0) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(text);
    REQUIRE(rc == 0);
  }
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// An application/pkcs7-mime message around DER/BER bytes, base64 or binary.
void write_pkcs7_message(std::string_view der, bool base64, const std::string& path,
                         const char* smime_type = "enveloped-data") {
  FileSink out(path);
  out.write(std::string("Content-Type: application/pkcs7-mime; smime-type=") + smime_type +
            "; name=smime.p7m\r\nContent-Transfer-Encoding: " + (base64 ? "base64" : "binary") + "\r\n\r\n");
  if (base64) {
    KeepOpen keep(out);
    Base64Sink b64(keep);
    b64.write(der);
    b64.finish();
  } else {
    out.write(der);
  }
  out.finish();
}

struct Opened {
  DecryptResult result;
  std::string sha256;
  std::uint64_t size = 0;
};

Opened decrypt_file(const std::string& path, const std::vector<DecryptionKey>& keys = alice_keys()) {
  Source src = Source::from_file(path);
  const mime::Entity e = mime::parse(src, src.all());
  HashSink out;
  Opened o;
  o.result = decrypt(src, e, keys, out);
  o.sha256 = out.hex();
  o.size = out.count();
  return o;
}

// The error decrypt_file throws; `written` gets how many bytes reached out before it.
Error decrypt_error(const std::string& path, std::uint64_t* written = nullptr,
                    const std::vector<DecryptionKey>& keys = alice_keys()) {
  Source src = Source::from_file(path);
  const mime::Entity e = mime::parse(src, src.all());
  HashSink out;
  try {
    decrypt(src, e, keys, out);
  } catch (const Error& err) {
    if (written != nullptr) *written = out.count();
    return err;
  }
  FAIL("decrypted " << path);
  throw std::logic_error("unreachable");
}

// ---- DER surgery: openssl's definite-length DER taken apart and put together in other shapes ----

struct Tlv {
  std::size_t offset = 0;  // of the header
  std::size_t header = 0;
  std::size_t length = 0;
  int tag = 0;
  int cls = 0;
  bool constructed = false;
  std::size_t end() const { return offset + header + length; }
};

Tlv tlv_at(const std::string& der, std::size_t offset) {
  const auto* start = reinterpret_cast<const unsigned char*>(der.data()) + offset;
  const unsigned char* p = start;
  long len = 0;
  Tlv t;
  const int rc = ASN1_get_object(&p, &len, &t.tag, &t.cls, static_cast<long>(der.size() - offset));
  REQUIRE((rc & 0x80) == 0);
  REQUIRE(rc != 0x21);  // definite lengths only: this is DER
  t.offset = offset;
  t.header = static_cast<std::size_t>(p - start);
  t.length = static_cast<std::size_t>(len);
  t.constructed = (rc & V_ASN1_CONSTRUCTED) != 0;
  return t;
}

std::vector<Tlv> children(const std::string& der, const Tlv& parent) {
  std::vector<Tlv> out;
  for (std::size_t at = parent.offset + parent.header; at < parent.end(); at = out.back().end())
    out.push_back(tlv_at(der, at));
  return out;
}

std::string slice(const std::string& der, const Tlv& t) { return der.substr(t.offset, t.end() - t.offset); }

std::string length_octets(std::size_t n) {
  if (n < 0x80) return std::string(1, static_cast<char>(n));
  std::string o;
  for (; n > 0; n >>= 8) o.insert(o.begin(), static_cast<char>(n & 0xff));
  return static_cast<char>(0x80 | o.size()) + o;
}
std::string definite(char id, const std::string& content) {
  return id + length_octets(content.size()) + content;
}
std::string indefinite(char id, const std::string& content) {
  return id + std::string("\x80") + content + std::string(2, '\0');
}

// The pieces of an (Auth)EnvelopedData in DER.
struct Pieces {
  std::string content_type;  // the ContentInfo's OID
  std::string before_eci;    // version, recipientInfos
  std::string eci_head;      // contentType, contentEncryptionAlgorithm
  std::string ciphertext;    // encryptedContent's octets
  std::string after_eci;     // unprotectedAttrs; authAttrs, mac, unauthAttrs
};

Pieces take_apart(const std::string& der) {
  Pieces p;
  const Tlv info = tlv_at(der, 0);
  const std::vector<Tlv> info_kids = children(der, info);
  REQUIRE(info_kids.size() == 2);
  p.content_type = slice(der, info_kids[0]);
  const Tlv env = children(der, info_kids[1]).at(0);
  bool past_eci = false;
  for (const Tlv& kid : children(der, env)) {
    if (!past_eci && kid.tag == V_ASN1_SEQUENCE) {
      const std::vector<Tlv> eci = children(der, kid);
      REQUIRE(eci.size() == 3);
      REQUIRE(!eci[2].constructed);
      p.eci_head = slice(der, eci[0]) + slice(der, eci[1]);
      p.ciphertext = der.substr(eci[2].offset + eci[2].header, eci[2].length);
      past_eci = true;
    } else {
      (past_eci ? p.after_eci : p.before_eci) += slice(der, kid);
    }
  }
  REQUIRE(past_eci);
  return p;
}

// Chunk shapes for the encrypted content ([0] IMPLICIT OCTET STRING, constructed).
enum class Shape { indefinite_chunks, definite_chunks, nested, odd_sizes };

std::string chunked_content(const std::string& octets, Shape shape) {
  auto chunks = [&](std::size_t from, std::size_t to, std::size_t size) {
    std::string out;
    for (std::size_t at = from; at < to; at += size)
      out += definite('\x04', octets.substr(at, std::min(size, to - at)));
    return out;
  };
  const std::size_t n = octets.size();
  switch (shape) {
    case Shape::indefinite_chunks:
      return indefinite('\xa0', chunks(0, n, 1000));
    case Shape::definite_chunks:
      return definite('\xa0', chunks(0, n, 4096));
    case Shape::nested: {
      // indefinite [0] { indefinite OCTET STRING { chunks }, empty chunk, definite OCTET STRING { chunks } }
      const std::size_t half = n / 2;
      return indefinite('\xa0', indefinite('\x24', chunks(0, half, 777)) + definite('\x04', "") +
                                    definite('\x24', chunks(half, n, 65536)));
    }
    case Shape::odd_sizes: {
      std::string out;
      std::size_t at = 0;
      for (std::size_t size = 1; at < n; size = size * 3 + 1) {
        out += definite('\x04', octets.substr(at, std::min(size % 100000 + 1, n - at)));
        at += std::min(size % 100000 + 1, n - at);
      }
      return indefinite('\xa0', out);
    }
  }
  return {};
}

// The whole structure with the given content encoding, outer lengths definite or indefinite.
std::string put_together(const Pieces& p, const std::string& content, bool outer_indefinite) {
  auto wrap = [&](char id, const std::string& c) {
    return outer_indefinite ? indefinite(id, c) : definite(id, c);
  };
  const std::string eci = wrap('\x30', p.eci_head + content);
  return wrap('\x30', p.content_type + wrap('\xa0', wrap('\x30', p.before_eci + eci + p.after_eci)));
}

struct OpensslMessage {
  Plain plain;
  std::string der;  // definite-length DER
};

// `openssl cms -encrypt -outform DER` of a size-byte entity to alice.
OpensslMessage openssl_der(const test::TempDir& dir, std::uint64_t size, const char* cipher) {
  OpensslMessage m;
  m.plain = write_plain_file(size, dir.path("plain.eml"));
  run(std::string("openssl cms -encrypt -binary -") + cipher + " -in " + dir.path("plain.eml") +
          " -outform DER -out " + dir.path("openssl.der") + " " + test::pki_file("alice.pem"),
      dir);
  m.der = read_all(dir.path("openssl.der"));
  return m;
}

}  // namespace

TEST_CASE("a 100 MiB message of our own encryption (CBC, indefinite BER) streams through decryption",
          "[decrypt][stream]") {
  test::TempDir dir;
  const Plain plain = encrypt_ours(100 * kMiB, Cipher::aes256_cbc, dir.path("msg.eml"));
  const Opened o = decrypt_file(dir.path("msg.eml"));
  CHECK(o.size == plain.size);
  CHECK(o.sha256 == plain.sha256);
  CHECK(o.result.cipher == "aes256-cbc");
  CHECK(o.result.key_index == 1);
  CHECK_FALSE(o.result.authenticated);
}

TEST_CASE("a 32 MiB AES-GCM message of our own encryption decrypts and is authenticated",
          "[decrypt][stream]") {
  test::TempDir dir;
  for (Cipher c : {Cipher::aes256_gcm, Cipher::aes128_gcm}) {
    INFO(to_string(c));
    const Plain plain = encrypt_ours(32 * kMiB, c, dir.path("msg.eml"));
    const Opened o = decrypt_file(dir.path("msg.eml"));
    CHECK(o.sha256 == plain.sha256);
    CHECK(o.result.cipher == to_string(c));
    CHECK(o.result.authenticated);
  }
}

TEST_CASE("our own BER re-sent with binary transfer encoding decrypts in place", "[decrypt][stream]") {
  test::TempDir dir;
  for (Cipher c : {Cipher::aes256_cbc, Cipher::aes256_gcm}) {
    INFO(to_string(c));
    const Plain plain = encrypt_ours(12 * kMiB, c, dir.path("b64.eml"));
    Source src = Source::from_file(dir.path("b64.eml"));
    const std::string ber = pkcs7_mime_der(src, mime::parse(src, src.all()));
    write_pkcs7_message(ber, false, dir.path("binary.eml"));
    const Opened o = decrypt_file(dir.path("binary.eml"));
    CHECK(o.sha256 == plain.sha256);
    CHECK(o.result.cipher == to_string(c));
  }
}

TEST_CASE("openssl cms definite-length DER decrypts from base64 and binary bodies, CBC and GCM",
          "[decrypt][stream][interop]") {
  test::TempDir dir;
  const struct {
    const char* openssl;
    const char* ours;
    const char* smime_type;
  } ciphers[] = {{"aes-256-cbc", "aes256-cbc", "enveloped-data"},
                 {"aes-256-gcm", "aes256-gcm", "authEnveloped-data"},
                 {"aes-128-gcm", "aes128-gcm", "authEnveloped-data"}};
  for (const auto& c : ciphers) {
    const OpensslMessage m = openssl_der(dir, 10 * kMiB, c.openssl);
    CHECK(static_cast<unsigned char>(m.der[1]) != 0x80);  // definite lengths
    for (bool base64 : {true, false}) {
      INFO(c.openssl << (base64 ? " base64" : " binary"));
      write_pkcs7_message(m.der, base64, dir.path("msg.eml"), c.smime_type);
      const Opened o = decrypt_file(dir.path("msg.eml"));
      CHECK(o.sha256 == m.plain.sha256);
      CHECK(o.result.cipher == c.ours);
      CHECK(o.result.authenticated == (c.smime_type[0] == 'a'));
    }
  }
}

TEST_CASE("openssl cms -stream BER and openssl smime messages decrypt", "[decrypt][stream][interop]") {
  test::TempDir dir;
  const Plain plain = write_plain_file(10 * kMiB, dir.path("plain.eml"));
  SECTION("openssl cms -stream -outform DER: indefinite lengths, chunked content") {
    for (const char* cipher : {"aes-256-cbc", "aes-256-gcm"}) {
      INFO(cipher);
      run(std::string("openssl cms -encrypt -stream -binary -") + cipher + " -in " + dir.path("plain.eml") +
              " -outform DER -out " + dir.path("stream.der") + " " + test::pki_file("alice.pem"),
          dir);
      const std::string ber = read_all(dir.path("stream.der"));
      CHECK(static_cast<unsigned char>(ber[1]) == 0x80);
      write_pkcs7_message(ber, true, dir.path("msg.eml"));
      CHECK(decrypt_file(dir.path("msg.eml")).sha256 == plain.sha256);
    }
  }
  SECTION("openssl smime -encrypt: a whole S/MIME message with LF line ends") {
    for (const char* stream : {"", " -stream"}) {
      INFO("openssl smime" << stream);
      run(std::string("openssl smime -encrypt -aes256 -binary") + stream + " -in " + dir.path("plain.eml") +
              " -out " + dir.path("msg.eml") + " " + test::pki_file("alice.pem"),
          dir);
      const Opened o = decrypt_file(dir.path("msg.eml"));
      CHECK(o.sha256 == plain.sha256);
      CHECK(o.result.cipher == "aes256-cbc");
    }
  }
}

TEST_CASE("NSS cmsutil's encryption decrypts", "[decrypt][stream][interop]") {
  test::TempDir dir;
  const Plain plain = write_plain_file(10 * kMiB, dir.path("plain.eml"));
  const std::string db = "sql:" + dir.path("nssdb");
  run("mkdir " + dir.path("nssdb") + " && certutil -N -d " + db + " --empty-password", dir);
  run("certutil -A -d " + db + " -n alice -t ,, -i " + test::pki_file("alice.pem"), dir);
  run("cmsutil -E -d " + db + " -r alice@example.org -i " + dir.path("plain.eml") + " -o " +
          dir.path("nss.der"),
      dir);
  write_pkcs7_message(read_all(dir.path("nss.der")), true, dir.path("msg.eml"));
  const Opened o = decrypt_file(dir.path("msg.eml"));
  CHECK(o.sha256 == plain.sha256);
  CHECK_THAT(o.result.cipher, Catch::EndsWith("-cbc"));
}

TEST_CASE("encrypted content as a constructed OCTET STRING decrypts in every chunk shape",
          "[decrypt][stream]") {
  test::TempDir dir;
  for (const char* cipher : {"aes-256-cbc", "aes-256-gcm"}) {
    const OpensslMessage m = openssl_der(dir, 6 * kMiB, cipher);
    const Pieces p = take_apart(m.der);
    for (Shape shape : {Shape::indefinite_chunks, Shape::definite_chunks, Shape::nested, Shape::odd_sizes}) {
      for (bool outer_indefinite : {false, true}) {
        INFO(cipher << " shape " << static_cast<int>(shape) << " outer indefinite " << outer_indefinite);
        write_pkcs7_message(put_together(p, chunked_content(p.ciphertext, shape), outer_indefinite), true,
                            dir.path("msg.eml"));
        CHECK(decrypt_file(dir.path("msg.eml")).sha256 == m.plain.sha256);
      }
    }
    // Control: the pieces put together as they were give openssl's DER back.
    CHECK(put_together(p, definite('\x80', p.ciphertext), false) == m.der);
  }
}

TEST_CASE("a large truncated or malformed message is bad input before anything is written",
          "[decrypt][stream]") {
  test::TempDir dir;
  const OpensslMessage m = openssl_der(dir, 10 * kMiB, "aes-256-gcm");
  const Pieces p = take_apart(m.der);
  const std::string ber = put_together(p, chunked_content(p.ciphertext, Shape::indefinite_chunks), true);
  struct Case {
    const char* name;
    std::string der;
    const char* reason;
  };
  const std::string& octets = p.ciphertext;
  const Case cases[] = {
      {"DER cut inside the encrypted content", m.der.substr(0, m.der.size() / 2), "truncated"},
      {"DER without its GCM tag", m.der.substr(0, m.der.size() - 18), "truncated"},
      {"BER cut inside a chunk", ber.substr(0, ber.size() / 2), "truncated"},
      {"BER without its last end-of-contents", ber.substr(0, ber.size() - 2), "truncated"},
      {"a chunk that is not an OCTET STRING",
       put_together(p,
                    indefinite('\xa0', definite('\x04', octets.substr(0, 3000)) +
                                           definite('\x05', octets.substr(3000))),
                    true),
       "not an OCTET STRING"},
      {"a chunk overrunning its definite-length string",
       put_together(p, definite('\xa0', definite('\x04', octets) + std::string("\x04\x83\x10\x00\x00", 5)),
                    false),
       "overruns"},
      {"a definite length beyond the body", m.der.substr(0, 1) + "\x84\x7f\xff\xff\xff" + m.der.substr(5),
       "truncated"},
  };
  for (const Case& c : cases) {
    for (bool base64 : {true, false}) {
      INFO(c.name << (base64 ? " (base64)" : " (binary)"));
      write_pkcs7_message(c.der, base64, dir.path("msg.eml"), "authEnveloped-data");
      std::uint64_t written = 1;
      const Error e = decrypt_error(dir.path("msg.eml"), &written);
      CHECK(e.kind() == ErrorKind::bad_input);
      CHECK_THAT(e.what(), Catch::Contains(c.reason));
      CHECK(written == 0);
    }
  }
}

TEST_CASE("a flipped GCM tag or ciphertext bit of a large message fails authentication",
          "[decrypt][stream]") {
  test::TempDir dir;
  const OpensslMessage m = openssl_der(dir, 6 * kMiB, "aes-256-gcm");
  for (std::size_t pos : {m.der.size() - 1, m.der.size() - 16, m.der.size() / 2}) {
    INFO("byte " << pos << " of " << m.der.size());
    std::string der = m.der;
    der[pos] = static_cast<char>(der[pos] ^ 0x01);
    write_pkcs7_message(der, true, dir.path("msg.eml"), "authEnveloped-data");
    const Error e = decrypt_error(dir.path("msg.eml"));
    CHECK(e.kind() == ErrorKind::bad_input);
    CHECK_THAT(e.what(), Catch::Contains("authentication tag"));
  }
}

TEST_CASE("wrong key, unusable key and a failing output keep their error kinds on large messages",
          "[decrypt][stream]") {
  test::TempDir dir;
  encrypt_ours(6 * kMiB, Cipher::aes256_cbc, dir.path("msg.eml"));
  SECTION("no key of ours is a recipient") {
    std::vector<DecryptionKey> keys;
    keys.push_back(test::decryption_key("bob"));
    std::uint64_t written = 1;
    const Error e = decrypt_error(dir.path("msg.eml"), &written, keys);
    CHECK(e.kind() == ErrorKind::wrong_key);
    CHECK(written == 0);
  }
  SECTION("the recipient's certificate with another key") {
    std::vector<DecryptionKey> keys;
    keys.push_back({test::cert("alice"), test::key("bob")});
    CHECK(decrypt_error(dir.path("msg.eml"), nullptr, keys).kind() == ErrorKind::usage);
  }
  SECTION("a full disk under the output") {
    Source src = Source::from_file(dir.path("msg.eml"));
    const mime::Entity e = mime::parse(src, src.all());
    FileSink full("/dev/full");
    try {
      decrypt(src, e, alice_keys(), full);
      FAIL("decrypted into /dev/full");
    } catch (const Error& err) {
      CHECK(err.kind() == ErrorKind::io);
    }
  }
}

TEST_CASE("the content type of a pkcs7-mime entity is read from its first bytes", "[decrypt]") {
  test::TempDir dir;
  encrypt_ours(1 * kMiB, Cipher::aes256_gcm, dir.path("msg.eml"));
  Source src = Source::from_file(dir.path("msg.eml"));
  CHECK(pkcs7_mime_content_type(src, mime::parse(src, src.all())) == NID_id_smime_ct_authEnvelopedData);
  auto signed_msg = test::parse(
      "Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "MAsGCSqGSIb3DQEHAg==\r\n");  // SEQUENCE { OID signedData } and nothing else
  CHECK(pkcs7_mime_content_type(signed_msg.src, signed_msg.root) == NID_pkcs7_signed);
  auto junk = test::parse(
      "Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n");
  CHECK_THROWS_AS(pkcs7_mime_content_type(junk.src, junk.root), Error);
}

TEST_CASE("mutated envelopes of large messages end in a result or a clear error, never a crash",
          "[decrypt][stream][robustness]") {
  test::TempDir dir;
  const OpensslMessage m = openssl_der(dir, 5 * kMiB, "aes-256-gcm");
  const Pieces p = take_apart(m.der);
  const std::string ber = put_together(p, chunked_content(p.ciphertext, Shape::nested), true);
  std::mt19937 rng(20240612);
  for (const std::string* original : {&m.der, &ber}) {
    for (int i = 0; i < 100; ++i) {
      std::string der = *original;
      // Bytes of the envelope: the first kilobyte (recipient infos, algorithm) or the last 64 (the tag, the
      // ends of contents), flipped, dropped or duplicated.
      const std::size_t span = rng() % 2 ? std::min<std::size_t>(1024, der.size()) : 64;
      const std::size_t pos = span == 64 ? der.size() - 1 - rng() % 64 : rng() % span;
      switch (rng() % 3) {
        case 0:
          der[pos] = static_cast<char>(rng());
          break;
        case 1:
          der.erase(pos, 1 + rng() % 8);
          break;
        default:
          der.insert(pos, der.substr(pos, 1 + rng() % 8));
          break;
      }
      INFO("mutation " << i << " at " << pos);
      write_pkcs7_message(der, false, dir.path("msg.eml"), "authEnveloped-data");
      try {
        decrypt_file(dir.path("msg.eml"));
      } catch (const Error& e) {
        CHECK(std::string(e.what()).size() > 5);
      }
    }
  }
}
