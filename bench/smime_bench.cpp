// smime-bench: how fast and how lean the S/MIME core is, measured in-process on realistic messages.
//
// Throughput mode (default): for 4 KiB and 1 MiB messages built in memory, each operation (MIME parse,
// sign detached/opaque, encrypt CBC to 1 and 10 recipients, encrypt GCM, sign+encrypt, decrypt,
// verify) runs for at least --min-time seconds and --min-iters iterations, writing into a StringSink,
// and one table line gives ops/s and MB/s. As in the milter, the header fields are known beforehand
// and each timed call parses the body (mime::parse_body) and then signs, encrypts, decrypts or verifies.
// Given --ceiling figures from `openssl speed`, each line also shows the ceiling the unavoidable
// cryptographic primitives of that operation set, and the share of it reached.
//
// Peak-memory mode (--peak-memory SIZE_MB OP): writes a SIZE_MB message to a file in a private temp
// directory (streamed, never held in memory), runs OP reading it through Source::from_file and writing
// through a FileSink, and prints the process's peak RSS (getrusage ru_maxrss). Inputs of decrypt
// (AES-256-CBC EnvelopedData), decrypt-gcm (AES-256-GCM AuthEnvelopedData) and verify are produced by
// a forked child, so their making does not count towards the peak.
//
// Errors: a line whose operation throws, or whose result is wrong (verify not valid), prints FAILED
// and makes the exit status 1; usage errors exit 2. Nothing here asserts anything about speed.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smime/smime.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::size_t kRecipientsMany = 10;

std::string strf(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string strf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string out(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, format, args);
  va_end(args);
  return out;
}

std::string size_label(std::uint64_t bytes) {
  if (bytes >= kMiB && bytes % kMiB == 0)
    return strf("%llu MiB", static_cast<unsigned long long>(bytes / kMiB));
  if (bytes >= kKiB && bytes % kKiB == 0)
    return strf("%llu KiB", static_cast<unsigned long long>(bytes / kKiB));
  return strf("%llu B", static_cast<unsigned long long>(bytes));
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(kMiB); }

// ---- The test message ----------------------------------------------------------------------------

enum class Shape { multipart, text };

// Deterministic pseudo-random bytes (splitmix64) for the attachment: incompressible, reproducible.
class Prng {
 public:
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  void fill(unsigned char* buf, std::size_t len) {
    for (std::size_t i = 0; i < len; i += 8) {
      std::uint64_t v = next();
      for (std::size_t j = 0; j < 8 && i + j < len; ++j)
        buf[i + j] = static_cast<unsigned char>(v >> (8 * j));
    }
  }

 private:
  std::uint64_t state_ = 0x5EED5EED5EED5EEDULL;
};

// About 4 KiB of business prose, wrapped at 72 columns, CRLF line ends, 7-bit.
std::vector<std::string> prose_lines() {
  static const char* const sentences[] = {
      "Please find attached the figures for the third quarter, as discussed in Tuesday's meeting.",
      "Revenue grew by 4.2% against the same quarter last year, mostly in the northern region.",
      "The logistics costs remain above plan; Marc will send a breakdown by carrier next week.",
      "We agreed to postpone the migration of the order system until the audit is closed.",
      "If anything in the attached report is unclear, do not hesitate to call me on my mobile.",
      "The board expects the final version by Friday noon, so comments by Thursday would help.",
      "Note that the tables on pages 12 to 15 use the new cost allocation keys from July.",
      "Best regards, and thanks again to everyone who contributed to this quarter's numbers.",
  };
  std::vector<std::string> lines;
  std::string line;
  for (int round = 0; round < 6; ++round) {
    for (const char* s : sentences) {
      std::string_view text(s);
      while (!text.empty()) {
        std::size_t space = text.find(' ');
        std::string_view word = text.substr(0, space);
        if (!line.empty() && line.size() + 1 + word.size() > 72) {
          lines.push_back(line + "\r\n");
          line.clear();
        }
        if (!line.empty()) line += ' ';
        line += word;
        text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
      }
    }
    lines.push_back(line + "\r\n");
    lines.push_back("\r\n");  // paragraph break
    line.clear();
  }
  return lines;
}

struct MessageSpec {
  std::uint64_t target = 4 * kKiB;  // approximate total size in bytes
  Shape shape = Shape::multipart;
  std::string from = "alice@example.org";
  std::string to = "bob@example.org";
};

// Buffers small writes into 64 KiB chunks for the sink, and counts the bytes written.
class ChunkWriter {
 public:
  explicit ChunkWriter(smime::Sink& out) : out_(out) { buf_.reserve(kChunk + 1024); }
  void put(std::string_view s) {
    buf_.append(s);
    count_ += s.size();
    if (buf_.size() >= kChunk) flush();
  }
  void flush() {
    if (!buf_.empty()) out_.write(buf_);
    buf_.clear();
  }
  std::uint64_t count() const { return count_; }

 private:
  static constexpr std::size_t kChunk = 64 * 1024;
  smime::Sink& out_;
  std::string buf_;
  std::uint64_t count_ = 0;
};

// Writes a whole message (routing headers, MIME headers, body) of about spec.target bytes, streamed:
// memory use does not depend on the size. Returns the number of bytes written.
std::uint64_t write_message(const MessageSpec& spec, smime::Sink& sink) {
  const std::string boundary = "=_smime-bench_7f3a91c2";
  std::string head;
  head += "Return-Path: <" + spec.from + ">\r\n";
  head += "Received: from client.example.org (client.example.org [192.0.2.10])\r\n";
  head += "\tby mx.example.org (Postfix) with ESMTPSA id 4Q1x2Y3z4Wz1\r\n";
  head += "\tfor <" + spec.to + ">; Sat, 22 Nov 2025 18:00:00 +0000 (UTC)\r\n";
  head += "From: Alice Example <" + spec.from + ">\r\n";
  head += "To: Bob Example <" + spec.to + ">\r\n";
  head += "Subject: Q3 report and figures\r\n";
  head += "Date: Sat, 22 Nov 2025 18:00:00 +0000\r\n";
  head += "Message-ID: <20251122180000.4Q1x2Y3z4Wz1@example.org>\r\n";
  head += "MIME-Version: 1.0\r\n";
  std::string text_head;
  std::string attach_head;
  std::string tail;
  if (spec.shape == Shape::multipart) {
    head += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n" +
            "This is a multi-part message in MIME format.\r\n";
    text_head = "--" + boundary + "\r\n" +
                "Content-Type: text/plain; charset=us-ascii\r\n"
                "Content-Transfer-Encoding: 7bit\r\n\r\n";
    attach_head = "\r\n--" + boundary + "\r\n" +
                  "Content-Type: application/pdf; name=\"q3-report.pdf\"\r\n"
                  "Content-Disposition: attachment; filename=\"q3-report.pdf\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n";
    tail = "\r\n--" + boundary + "--\r\n";
  } else {
    head += "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
  }
  const std::uint64_t overhead = head.size() + text_head.size() + attach_head.size() + tail.size();
  const std::uint64_t room = spec.target > overhead ? spec.target - overhead : 0;
  // Multipart: a short note (half the room, at most 16 KiB), the rest a base64 attachment.
  const std::uint64_t text_budget =
      spec.shape == Shape::multipart ? std::min<std::uint64_t>(room / 2, 16 * kKiB) : room;
  const std::uint64_t attach_budget = spec.shape == Shape::multipart ? room - text_budget : 0;

  ChunkWriter out(sink);
  out.put(head);
  out.put(text_head);
  static const std::vector<std::string> lines = prose_lines();
  std::uint64_t text_written = 0;
  for (std::size_t i = 0;; i = (i + 1) % lines.size()) {
    if (text_written + lines[i].size() > text_budget) break;
    out.put(lines[i]);
    text_written += lines[i].size();
  }
  if (spec.shape == Shape::multipart) {
    out.put(attach_head);
    Prng prng;
    unsigned char raw[57];
    unsigned char encoded[80];
    // 76-character lines separated by CRLF (the CRLF after the last one belongs to the delimiter),
    // the last line shorter so that the part comes close to its budget.
    std::uint64_t written = 0;
    for (bool first = true;; first = false) {
      const std::uint64_t sep = first ? 0 : 2;
      if (written + sep + 4 > attach_budget) break;
      const std::uint64_t left = attach_budget - written - sep;
      const std::size_t chars = left >= 76 ? 76 : static_cast<std::size_t>(left / 4 * 4);
      const std::size_t raw_len = chars / 4 * 3;
      prng.fill(raw, raw_len);
      const int n = EVP_EncodeBlock(encoded, raw, static_cast<int>(raw_len));
      if (!first) out.put("\r\n");
      out.put(std::string_view(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n)));
      written += sep + static_cast<std::uint64_t>(n);
    }
    out.put(tail);
  }
  out.flush();
  sink.finish();
  return out.count();
}

// ---- The PKI -------------------------------------------------------------------------------------

struct Pki {
  fs::path dir;
  smime::SigningIdentity alice;            // signer, with the intermediate as chain
  std::vector<smime::X509Ptr> rsa_leaves;  // every RSA leaf found (alice first)
  smime::X509Ptr root;
  std::vector<smime::X509Ptr> intermediates;
  std::string alice_email;
  std::string bob_email;
};

std::string first_email(X509* cert, const std::string& fallback) {
  std::vector<std::string> emails = smime::email_addresses(cert);
  return emails.empty() ? fallback : emails.front();
}

Pki load_pki(const fs::path& dir) {
  Pki pki;
  pki.dir = dir;
  auto read = [&](const std::string& name) { return smime::read_file((dir / name).string()); };
  pki.alice.cert = smime::load_certificate(read("alice.pem"));
  pki.alice.key = smime::load_private_key(read("alice.key"));
  pki.intermediates = smime::load_certificates(read("inter.pem"));
  for (const smime::X509Ptr& c : pki.intermediates) pki.alice.chain.push_back(smime::share(c.get()));
  pki.root = smime::load_certificate(read("root.pem"));
  for (const char* name : {"alice", "bob", "carol", "gw-old", "gw-new", "domain"}) {
    fs::path pem = dir / (std::string(name) + ".pem");
    if (!fs::exists(pem)) continue;
    smime::X509Ptr cert = smime::load_certificate(smime::read_file(pem.string()));
    if (EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get())) == EVP_PKEY_RSA)
      pki.rsa_leaves.push_back(std::move(cert));
  }
  pki.alice_email = first_email(pki.alice.cert.get(), "alice@example.org");
  pki.bob_email = "bob@example.org";
  if (fs::exists(dir / "bob.pem")) {
    smime::X509Ptr bob = smime::load_certificate(read("bob.pem"));
    pki.bob_email = first_email(bob.get(), pki.bob_email);
  }
  return pki;
}

// `count` recipients taken in turn from the RSA leaves (repeating them when there are fewer).
std::vector<smime::Recipient> rsa_recipients(const Pki& pki, std::size_t count) {
  if (pki.rsa_leaves.empty()) throw smime::Error(smime::ErrorKind::usage, "no RSA certificate in the PKI");
  std::vector<smime::Recipient> out;
  for (std::size_t i = 0; i < count; ++i) {
    smime::Recipient r;
    r.cert = smime::share(pki.rsa_leaves[i % pki.rsa_leaves.size()].get());
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<smime::DecryptionKey> alice_keys(const Pki& pki) {
  std::vector<smime::DecryptionKey> keys;
  smime::DecryptionKey k;
  k.cert = smime::share(pki.alice.cert.get());
  k.key = smime::load_private_key(smime::read_file((pki.dir / "alice.key").string()));
  keys.push_back(std::move(k));
  return keys;
}

smime::VerifyOptions verify_options(const Pki& pki) {
  smime::VerifyOptions o;
  o.anchors.push_back(smime::share(pki.root.get()));
  for (const smime::X509Ptr& c : pki.intermediates) o.intermediates.push_back(smime::share(c.get()));
  return o;
}

// ---- The operations, as the milter runs them -------------------------------------------------------

// What the milter knows before it touches the body: the header fields (libmilter hands them over
// one by one) and where the body is (its buffer or spool file). Found once per message, untimed.
struct Message {
  smime::Source src;
  smime::Range body;
  smime::mime::HeaderList all;      // every header field, for the inbound path
  smime::mime::HeaderList outer;    // routing headers: stay outside the protected entity
  smime::mime::HeaderList content;  // Content-* headers: go inside
};

Message split_message(const smime::Source& src) {
  smime::mime::Entity whole = smime::mime::parse(src, src.all());
  smime::mime::SplitHeaders split = smime::mime::split_content_headers(whole.headers);
  return Message{src, whole.body, std::move(whole.headers), std::move(split.outer), std::move(split.content)};
}

// Per message and timed, as in the milter: the body parsed under the content headers (outbound) or
// under all headers (inbound).
smime::mime::Entity outbound_entity(const Message& m) {
  return smime::mime::parse_body(m.src, m.body, m.content);
}
smime::mime::Entity inbound_entity(const Message& m) { return smime::mime::parse_body(m.src, m.body, m.all); }

enum class Op {
  sign_detached,
  sign_opaque,
  encrypt_cbc,
  encrypt_gcm,
  sign_encrypt,
  decrypt,
  decrypt_gcm,
  verify
};

struct OpInfo {
  Op op;
  const char* name;
};
constexpr OpInfo kPeakOps[] = {
    {Op::sign_detached, "sign"},        {Op::sign_opaque, "sign-opaque"},
    {Op::encrypt_cbc, "encrypt"},       {Op::encrypt_gcm, "encrypt-gcm"},
    {Op::sign_encrypt, "sign-encrypt"}, {Op::decrypt, "decrypt"},
    {Op::decrypt_gcm, "decrypt-gcm"},   {Op::verify, "verify"},
};

smime::SignOptions sign_options(smime::SignMode mode) {
  smime::SignOptions o;
  o.mode = mode;
  o.digest = smime::Digest::sha256;
  return o;
}

smime::EncryptOptions encrypt_options(smime::Cipher c) {
  smime::EncryptOptions o;
  o.cipher = c;
  return o;
}

// Runs an outbound operation on m (its body parsed, as timed), writing the protected entity to out.
void run_outbound(Op op, const Pki& pki, const std::vector<smime::Recipient>& recipients, const Message& m,
                  smime::Sink& out) {
  const smime::Source& src = m.src;
  const smime::mime::Entity content = outbound_entity(m);
  switch (op) {
    case Op::sign_detached:
      smime::sign(src, content, pki.alice, sign_options(smime::SignMode::detached), out);
      break;
    case Op::sign_opaque:
      smime::sign(src, content, pki.alice, sign_options(smime::SignMode::opaque), out);
      break;
    case Op::encrypt_cbc:
      smime::encrypt(src, content, recipients, encrypt_options(smime::Cipher::aes256_cbc), out);
      break;
    case Op::encrypt_gcm:
      smime::encrypt(src, content, recipients, encrypt_options(smime::Cipher::aes256_gcm), out);
      break;
    case Op::sign_encrypt:
      smime::sign_encrypt(src, content, pki.alice, sign_options(smime::SignMode::detached), recipients,
                          encrypt_options(smime::Cipher::aes256_cbc), out);
      break;
    case Op::decrypt:
    case Op::decrypt_gcm:
    case Op::verify:
      throw smime::Error(smime::ErrorKind::usage, "not an outbound operation");
  }
  out.finish();
}

// The routing headers and MIME-Version the milter puts back in front of a protected entity, so that
// decrypt and verify see a whole received message.
void write_outer(const Message& m, smime::Sink& out) {
  smime::mime::write_headers(m.outer, out);
  out.write("MIME-Version: 1.0\r\n");
}

// ---- Timing ----------------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

// CPU time of the calling thread (user + system), in seconds.
double thread_cpu_seconds() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Settings {
  double min_time = 1.0;
  std::uint64_t min_iters = 5;
  bool wall = false;  // time by the wall clock instead of the thread's CPU time
  Shape shape = Shape::multipart;
  std::string filter;
  std::vector<std::uint64_t> sizes = {4 * kKiB, kMiB};
};

struct Measurement {
  std::uint64_t iters = 0;
  double seconds = 0;
  double ops_per_s() const { return seconds > 0 ? static_cast<double>(iters) / seconds : 0; }
};

// One untimed warm-up call, then calls until both the minimum time and the minimum count are reached.
// Time is the thread's CPU time (user + system) unless s.wall: like `openssl speed`, which divides by
// CPU time by default, so that other load on the machine disturbs the figures less.
Measurement measure(const std::function<void()>& op, const Settings& s) {
  op();
  Measurement m;
  auto now = [&] {
    return s.wall ? std::chrono::duration<double>(Clock::now().time_since_epoch()).count()
                  : thread_cpu_seconds();
  };
  const double start = now();
  do {
    op();
    ++m.iters;
    m.seconds = now() - start;
  } while (m.seconds < s.min_time || m.iters < s.min_iters);
  return m;
}

// ---- Ceilings --------------------------------------------------------------------------------------

// Throughputs of the primitives as `openssl speed` measures them on this machine.
struct Ceilings {
  std::optional<double> rsa_sign;    // RSA-2048 private-key operations per second
  std::optional<double> rsa_verify;  // RSA-2048 public-key operations per second
  std::optional<double> sha256;      // bytes per second
  std::optional<double> cbc_enc;     // AES-256-CBC encryption, bytes per second
  std::optional<double> cbc_dec;     // AES-256-CBC decryption, bytes per second
  std::optional<double> gcm;         // AES-256-GCM encryption, bytes per second
};

// The primitive work an operation cannot avoid: its ceiling is the time of that work alone.
struct Cost {
  unsigned rsa_private = 0;
  unsigned rsa_public = 0;
  std::uint64_t sha256 = 0;
  std::uint64_t cbc_enc = 0;
  std::uint64_t cbc_dec = 0;
  std::uint64_t gcm = 0;

  bool any() const { return rsa_private + rsa_public > 0 || sha256 + cbc_enc + cbc_dec + gcm > 0; }

  // Seconds per operation at the ceilings, or nullopt when a needed ceiling is unknown.
  std::optional<double> seconds(const Ceilings& c) const {
    double t = 0;
    auto add = [&](double amount, const std::optional<double>& rate) {
      if (amount <= 0) return true;
      if (!rate || *rate <= 0) return false;
      t += amount / *rate;
      return true;
    };
    bool ok = add(rsa_private, c.rsa_sign) && add(rsa_public, c.rsa_verify) &&
              add(static_cast<double>(sha256), c.sha256) && add(static_cast<double>(cbc_enc), c.cbc_enc) &&
              add(static_cast<double>(cbc_dec), c.cbc_dec) && add(static_cast<double>(gcm), c.gcm);
    if (!ok || !any()) return std::nullopt;
    return t;
  }

  std::string describe() const {
    std::vector<std::string> parts;
    if (rsa_private == 1) parts.push_back("RSA-2048 sign");
    if (rsa_private > 1) parts.push_back(strf("%u RSA-2048 sign", rsa_private));
    if (rsa_public == 1) parts.push_back("RSA-2048 public op");
    if (rsa_public > 1) parts.push_back(strf("%u RSA-2048 public ops", rsa_public));
    if (sha256 > 0) parts.push_back("SHA-256");
    if (cbc_enc > 0) parts.push_back("AES-256-CBC enc");
    if (cbc_dec > 0) parts.push_back("AES-256-CBC dec");
    if (gcm > 0) parts.push_back("AES-256-GCM");
    std::string s;
    for (const std::string& p : parts) s += (s.empty() ? "" : " + ") + p;
    return s;
  }
};

// ---- Throughput mode -----------------------------------------------------------------------------------

struct Row {
  std::string name;
  std::uint64_t bytes = 0;  // the message size, for MB/s
  std::string size;
  Measurement m;
  Cost cost;
  std::string error;
};

void print_header() {
  std::printf("%-42s %-7s %7s %10s %9s %11s %9s  %s\n", "operation", "message", "iters", "ops/s", "MB/s",
              "ceiling/s", "of ceil.", "ceiling = time of");
}

void print_row(const Row& r, const Ceilings& c) {
  if (!r.error.empty()) {
    std::printf("%-42s %-7s FAILED: %s\n", r.name.c_str(), r.size.c_str(), r.error.c_str());
    std::fflush(stdout);
    return;
  }
  const double ops = r.m.ops_per_s();
  const double mbs = ops * static_cast<double>(r.bytes) / 1e6;
  std::optional<double> ceiling_s = r.cost.seconds(c);
  std::string ceiling = "-";
  std::string share = "-";
  if (ceiling_s && *ceiling_s > 0) {
    ceiling = strf("%.1f", 1.0 / *ceiling_s);
    share = strf("%.1f%%", 100.0 * ops * *ceiling_s);
  }
  const std::string mbs_text = r.bytes > 0 ? strf("%.2f", mbs) : "-";
  std::printf("%-42s %-7s %7llu %10.1f %9s %11s %9s  %s\n", r.name.c_str(), r.size.c_str(),
              static_cast<unsigned long long>(r.m.iters), ops, mbs_text.c_str(), ceiling.c_str(),
              share.c_str(), r.cost.any() ? r.cost.describe().c_str() : "-");
  std::fflush(stdout);
}

class Runner {
 public:
  Runner(const Settings& s, const Ceilings& c) : settings_(s), ceilings_(c) {}

  // Measures op and prints its line at once; a thrown error or a failed check marks the line FAILED.
  void run(const std::string& name, std::uint64_t bytes, const Cost& cost, const std::function<void()>& op) {
    if (!settings_.filter.empty() && name.find(settings_.filter) == std::string::npos) return;
    Row r{name, bytes, size_label(settings_size_), {}, cost, {}};
    try {
      r.m = measure(op, settings_);
    } catch (const std::exception& e) {
      r.error = e.what();
      ++failures_;
    }
    print_row(r, ceilings_);
  }
  void note(const std::string& text) { notes_.push_back(text); }
  void set_size(std::uint64_t target) { settings_size_ = target; }
  int failures() const { return failures_; }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  const Settings& settings_;
  const Ceilings& ceilings_;
  std::uint64_t settings_size_ = 0;
  int failures_ = 0;
  std::vector<std::string> notes_;
};

class CheckFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The certificate decoding OpenSSL does for every certificate a SignedData carries: not in the
// ceilings (openssl speed does not measure it), shown as a reference line because verify pays it.
void decode_certificate_der(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  smime::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) smime::throw_openssl(smime::ErrorKind::crypto, "d2i_X509");
}

int throughput(const Pki& pki, const Settings& settings, const Ceilings& ceilings) {
  const std::vector<smime::Recipient> one = rsa_recipients(pki, 1);
  const std::vector<smime::Recipient> many = rsa_recipients(pki, kRecipientsMany);
  const std::vector<smime::DecryptionKey> keys = alice_keys(pki);
  const smime::VerifyOptions vopts = verify_options(pki);

  std::printf(
      "smime-bench: %s; one thread; each line at least %.1f s %s and %llu iterations after a warm-up\n",
      OpenSSL_version(OPENSSL_VERSION), settings.min_time,
      settings.wall ? "of wall-clock time" : "of thread CPU time (user+sys)",
      static_cast<unsigned long long>(settings.min_iters));
  std::printf(
      "message: %s, 7-bit, CRLF; sign: RSA-2048 %s, sha256, chain included; "
      "encrypt: RSA-2048 PKCS#1 v1.5 key transport; %zu-recipient line uses %zu distinct certificates\n",
      settings.shape == Shape::multipart ? "multipart/mixed (text/plain note + base64 attachment)"
                                         : "text/plain",
      pki.alice_email.c_str(), kRecipientsMany, std::min(kRecipientsMany, pki.rsa_leaves.size()));
  std::printf(
      "every line includes mime::parse_body of the message body (headers are known apart, as in the "
      "milter)\n");
  std::printf(
      "ops/s and MB/s are per second of %s; MB/s counts message bytes / 1e6; ceiling/s = calls per "
      "second if only the listed primitives ran, at `openssl speed` rates\n\n",
      settings.wall ? "wall-clock time" : "CPU time");
  print_header();

  Runner runner(settings, ceilings);
  {
    const std::string der = smime::to_der(pki.alice.cert.get());
    runner.set_size(der.size());
    runner.run("reference: OpenSSL d2i_X509, RSA leaf", 0, Cost{}, [&] { decode_certificate_der(der); });
  }
  for (std::uint64_t target : settings.sizes) {
    runner.set_size(target);
    MessageSpec spec;
    spec.target = target;
    spec.shape = settings.shape;
    spec.from = pki.alice_email;
    spec.to = pki.bob_email;
    smime::StringSink msg_sink;
    const std::uint64_t n = write_message(spec, msg_sink);
    const Message plain = split_message(smime::Source::from_string(msg_sink.take()));

    // The canonical content, to check what decrypt and verify give back.
    std::string canonical;
    {
      smime::StringSink s;
      smime::mime::write_canonical(plain.src, outbound_entity(plain), s);
      canonical = s.take();
    }

    runner.run("mime parse_body", n, Cost{}, [&] { (void)outbound_entity(plain); });

    Cost sign_cost;
    sign_cost.rsa_private = 1;
    sign_cost.sha256 = n;
    runner.run("sign detached", n, sign_cost, [&] {
      smime::StringSink out;
      run_outbound(Op::sign_detached, pki, one, plain, out);
    });
    runner.run("sign opaque", n, sign_cost, [&] {
      smime::StringSink out;
      run_outbound(Op::sign_opaque, pki, one, plain, out);
    });

    Cost enc1;
    enc1.rsa_public = 1;
    enc1.cbc_enc = n;
    runner.run("encrypt AES-256-CBC, 1 recipient", n, enc1, [&] {
      smime::StringSink out;
      run_outbound(Op::encrypt_cbc, pki, one, plain, out);
    });
    Cost enc10 = enc1;
    enc10.rsa_public = static_cast<unsigned>(kRecipientsMany);
    runner.run(strf("encrypt AES-256-CBC, %zu recipients", kRecipientsMany), n, enc10, [&] {
      smime::StringSink out;
      run_outbound(Op::encrypt_cbc, pki, many, plain, out);
    });
    Cost gcm;
    gcm.rsa_public = 1;
    gcm.gcm = n;
    runner.run("encrypt AES-256-GCM, 1 recipient", n, gcm, [&] {
      smime::StringSink out;
      run_outbound(Op::encrypt_gcm, pki, one, plain, out);
    });
    Cost se;
    se.rsa_private = 1;
    se.sha256 = n;
    se.rsa_public = 1;
    se.cbc_enc = n;
    runner.run("sign detached + encrypt CBC, 1 recipient", n, se, [&] {
      smime::StringSink out;
      run_outbound(Op::sign_encrypt, pki, one, plain, out);
    });

    // Received messages for decrypt and verify: the routing headers, then the protected entity.
    std::optional<Message> encrypted;
    std::optional<Message> signed_msg;
    try {
      smime::StringSink s;
      write_outer(plain, s);
      run_outbound(Op::encrypt_cbc, pki, one, plain, s);
      encrypted = split_message(smime::Source::from_string(s.take()));
      smime::StringSink t;
      write_outer(plain, t);
      run_outbound(Op::sign_detached, pki, one, plain, t);
      signed_msg = split_message(smime::Source::from_string(t.take()));
    } catch (const std::exception& e) {
      runner.note(
          strf("%s: cannot make the inputs of decrypt/verify: %s", size_label(target).c_str(), e.what()));
    }

    Cost dec;
    dec.rsa_private = 1;
    dec.cbc_dec = n;
    bool checked = false;
    runner.run("decrypt AES-256-CBC", n, dec, [&] {
      if (!encrypted) throw CheckFailed("no encrypted input");
      smime::StringSink out;
      smime::decrypt(encrypted->src, inbound_entity(*encrypted), keys, out);
      out.finish();
      if (!checked) {
        checked = true;
        if (out.str() != canonical)
          runner.note(
              strf("%s: decrypted entity (%zu bytes) differs from write_canonical() of the content "
                   "(%zu bytes)",
                   size_label(target).c_str(), out.str().size(), canonical.size()));
      }
    });

    Cost ver;
    ver.rsa_public = 1;
    ver.sha256 = n;
    bool vchecked = false;
    runner.run("verify detached", n, ver, [&] {
      if (!signed_msg) throw CheckFailed("no signed input");
      smime::StringSink content;
      smime::VerifyResult r =
          smime::verify(signed_msg->src, inbound_entity(*signed_msg), vopts, vchecked ? nullptr : &content);
      if (!r.ok())
        throw CheckFailed(
            strf("verify said %s: %s", std::string(smime::to_string(r.status)).c_str(), r.reason.c_str()));
      if (!vchecked) {
        vchecked = true;
        if (content.str() != canonical)
          runner.note(
              strf("%s: verified content (%zu bytes) differs from write_canonical() of the content "
                   "(%zu bytes)",
                   size_label(target).c_str(), content.str().size(), canonical.size()));
      }
    });
  }
  for (const std::string& n : runner.notes()) std::printf("note: %s\n", n.c_str());
  return runner.failures() > 0 ? 1 : 0;
}

// ---- Peak-memory mode ----------------------------------------------------------------------------------

// A private directory (mkdtemp, mode 0700) removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/smime-bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr)
      throw smime::Error(smime::ErrorKind::io, "mkdtemp " + templ + ": " + std::strerror(errno));
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

double maxrss_mib() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

// Makes the input of decrypt or verify in a forked child, so that its memory is not this process's peak.
void prepare_in_child(Op op, const Pki& pki, const fs::path& message, const fs::path& input) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) throw smime::Error(smime::ErrorKind::io, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int rc = 0;
    try {
      const Message plain = split_message(smime::Source::from_file(message));
      smime::FileSink out(input);
      write_outer(plain, out);
      const Op make = op == Op::decrypt       ? Op::encrypt_cbc
                      : op == Op::decrypt_gcm ? Op::encrypt_gcm
                                              : Op::sign_detached;
      run_outbound(make, pki, rsa_recipients(pki, 1), plain, out);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "smime-bench: preparing the input: %s\n", e.what());
      rc = 1;
    }
    std::fflush(nullptr);
    ::_exit(rc);  // not exit(): the parent's TempDir must survive
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw smime::Error(smime::ErrorKind::io, std::string("waitpid: ") + std::strerror(errno));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw smime::Error(smime::ErrorKind::crypto, "the child preparing the input failed");
}

int peak_memory(const Pki& pki, const Settings& settings, std::uint64_t size_mb, Op op, const char* op_name) {
  TempDir tmp;
  const fs::path message = tmp.path() / "message.eml";
  const fs::path output = tmp.path() / "output.eml";
  MessageSpec spec;
  spec.target = size_mb * kMiB;
  spec.shape = settings.shape;
  spec.from = pki.alice_email;
  spec.to = pki.bob_email;
  {
    smime::FileSink f(message);
    write_message(spec, f);
  }
  fs::path input = message;
  const bool decrypting = op == Op::decrypt || op == Op::decrypt_gcm;
  if (decrypting || op == Op::verify) {
    input = tmp.path() / "input.eml";
    prepare_in_child(op, pki, message, input);
  }
  const std::vector<smime::Recipient> one = rsa_recipients(pki, 1);
  const std::vector<smime::DecryptionKey> keys = alice_keys(pki);
  const smime::VerifyOptions vopts = verify_options(pki);

  // The header fields and the body's place, as the milter knows them before it starts (untimed).
  const Message m = split_message(smime::Source::from_file(input));

  const double before = maxrss_mib();
  std::string status = "ok";
  const Clock::time_point start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  {
    smime::FileSink out(output);
    if (decrypting) {
      smime::decrypt(m.src, inbound_entity(m), keys, out);
      out.finish();
    } else if (op == Op::verify) {
      smime::VerifyResult r = smime::verify(m.src, inbound_entity(m), vopts, &out);
      out.finish();
      if (!r.ok()) status = std::string(smime::to_string(r.status)) + " (" + r.reason + ")";
    } else {
      run_outbound(op, pki, one, m, out);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_seconds = thread_cpu_seconds() - cpu_start;
  const double peak = maxrss_mib();
  const std::uint64_t message_bytes = fs::file_size(message);
  const std::uint64_t input_bytes = fs::file_size(input);
  const std::uint64_t output_bytes = fs::file_size(output);
  std::printf(
      "peak-memory op=%s message_mib=%.1f input_mib=%.1f output_mib=%.1f seconds=%.2f cpu_seconds=%.2f "
      "rss_before_mib=%.1f "
      "peak_rss_mib=%.1f status=%s\n",
      op_name, mib(message_bytes), mib(input_bytes), mib(output_bytes), seconds, cpu_seconds, before, peak,
      status.c_str());
  return status == "ok" ? 0 : 1;
}

// ---- Command line --------------------------------------------------------------------------------------

[[noreturn]] void usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "smime-bench: %s\n", why);
  std::fprintf(stderr,
               "usage: smime-bench [options] PKI_DIR\n"
               "       smime-bench [options] --peak-memory SIZE_MB OP PKI_DIR\n"
               "  PKI_DIR: the output of test/pki/make-pki.sh (alice.pem/.key, inter.pem, root.pem, ...)\n"
               "  --min-time SECONDS    minimum time per line (default 1)\n"
               "  --min-iters N         minimum iterations per line (default 5)\n"
               "  --sizes BYTES,...     message sizes (default 4096,1048576; K and M suffixes: 4K,1M)\n"
               "  --wall                time by the wall clock (default: the thread's CPU time)\n"
               "  --text                text/plain messages instead of multipart/mixed with an attachment\n"
               "  --dump-message SIZE   write the test message of that size to stdout and exit\n"
               "  --filter STRING       only the lines whose operation contains STRING\n"
               "  --ceiling NAME=VALUE  openssl speed figures: rsa-sign, rsa-verify (ops/s), sha256,\n"
               "                        aes-256-cbc-enc, aes-256-cbc-dec, aes-256-gcm (bytes/s)\n"
               "  OP: sign sign-opaque encrypt encrypt-gcm sign-encrypt decrypt decrypt-gcm verify\n");
  std::exit(2);
}

double parse_number(const std::string& text, const char* what) {
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size() || !(v >= 0)) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    usage(strf("bad %s: '%s'", what, text.c_str()).c_str());
  }
}

std::uint64_t parse_size(std::string text) {
  std::uint64_t mult = 1;
  if (!text.empty() && (text.back() == 'K' || text.back() == 'k')) mult = kKiB;
  if (!text.empty() && (text.back() == 'M' || text.back() == 'm')) mult = kMiB;
  if (mult != 1) text.pop_back();
  double v = parse_number(text, "size");
  if (v < 1) usage("a message size must be at least 1 byte");
  return static_cast<std::uint64_t>(v) * mult;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  Ceilings ceilings;
  std::optional<std::uint64_t> peak_mb;
  std::optional<std::uint64_t> dump_size;
  std::string peak_op;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--min-time") {
      settings.min_time = parse_number(value(), "--min-time");
    } else if (a == "--min-iters") {
      settings.min_iters = static_cast<std::uint64_t>(parse_number(value(), "--min-iters"));
    } else if (a == "--sizes") {
      settings.sizes.clear();
      std::string list = value();
      for (std::size_t pos = 0; pos <= list.size();) {
        std::size_t comma = list.find(',', pos);
        if (comma == std::string::npos) comma = list.size();
        settings.sizes.push_back(parse_size(list.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else if (a == "--wall") {
      settings.wall = true;
    } else if (a == "--text") {
      settings.shape = Shape::text;
    } else if (a == "--filter") {
      settings.filter = value();
    } else if (a == "--ceiling") {
      std::string kv = value();
      std::size_t eq = kv.find('=');
      if (eq == std::string::npos) usage("--ceiling wants NAME=VALUE");
      std::string name = kv.substr(0, eq);
      double v = parse_number(kv.substr(eq + 1), "ceiling");
      if (name == "rsa-sign")
        ceilings.rsa_sign = v;
      else if (name == "rsa-verify")
        ceilings.rsa_verify = v;
      else if (name == "sha256")
        ceilings.sha256 = v;
      else if (name == "aes-256-cbc-enc")
        ceilings.cbc_enc = v;
      else if (name == "aes-256-cbc-dec")
        ceilings.cbc_dec = v;
      else if (name == "aes-256-gcm")
        ceilings.gcm = v;
      else
        usage(("unknown ceiling " + name).c_str());
    } else if (a == "--peak-memory") {
      std::string mb = value();
      peak_op = value();
      double v = parse_number(mb, "SIZE_MB");
      if (v < 1) usage("SIZE_MB must be at least 1");
      peak_mb = static_cast<std::uint64_t>(v);
    } else if (a == "--dump-message") {
      dump_size = parse_size(value());
    } else if (a == "-h" || a == "--help") {
      usage(nullptr);
    } else if (!a.empty() && a[0] == '-') {
      usage(("unknown option " + a).c_str());
    } else {
      positional.push_back(a);
    }
  }
  if (dump_size) {  // the test message alone, to look at; no PKI needed
    class StdoutSink final : public smime::Sink {
     public:
      void write(std::string_view bytes) override { std::fwrite(bytes.data(), 1, bytes.size(), stdout); }
    } out;
    MessageSpec spec;
    spec.target = *dump_size;
    spec.shape = settings.shape;
    write_message(spec, out);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  if (positional.size() != 1) usage("want exactly one PKI_DIR");

  try {
    const Pki pki = load_pki(positional[0]);
    if (peak_mb) {
      for (const OpInfo& o : kPeakOps)
        if (peak_op == o.name) return peak_memory(pki, settings, *peak_mb, o.op, o.name);
      usage(("unknown OP " + peak_op).c_str());
    }
    return throughput(pki, settings, ceilings);
  } catch (const smime::Error& e) {
    std::fprintf(stderr, "smime-bench: %s error: %s\n", std::string(smime::to_string(e.kind())).c_str(),
                 e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smime-bench: %s\n", e.what());
    return 1;
  }
}
