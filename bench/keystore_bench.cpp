// smime-keystore-bench: the keystore operations the milter makes per message, on SQLite and on
// PostgreSQL side by side, as ratios measured in one run (bench/keystore starts the PostgreSQL server).
//
//   lookup            encryption_certificate() for a recipient (the outbound path), over N recipients
//   harvest, known    harvest() of a signer already stored, nothing to refresh (the inbound path): reads
//   harvest, new      harvest() of a new signer: chain check, one write transaction (under the writer lock
//                     on PostgreSQL), committed durably
//   generation        Store::generation(), the check a per-process cache of decoded keys makes
//
// Rounds are interleaved (each round runs every operation on SQLite, then on PostgreSQL) and the
// figures are medians of the rounds, in operations per second of wall-clock time (the database work
// of PostgreSQL happens in its server processes, not in ours: CPU time would not count it).
// Nothing is asserted; an operation that fails or gives a wrong answer makes the exit status 1.
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "keystore/error.hpp"
#include "keystore/harvest.hpp"
#include "keystore/lookup.hpp"
#include "keystore/open_store.hpp"
#include "smime/cert.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, smime::OsslDeleter<X509_EXTENSION_free>>;

struct Options {
  int rounds = 5;
  double seconds = 1.0;
  int recipients = 500;
  std::string url;
  std::string sqlite_dir;
};

[[noreturn]] void usage() {
  std::cerr << "usage: smime-keystore-bench [--rounds N] [--seconds S] [--recipients N] [--url URL]\n"
               "                            --sqlite-dir DIR\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--rounds")
      o.rounds = std::max(1, std::atoi(value().c_str()));
    else if (a == "--seconds")
      o.seconds = std::max(0.05, std::atof(value().c_str()));
    else if (a == "--recipients")
      o.recipients = std::max(1, std::atoi(value().c_str()));
    else if (a == "--url")
      o.url = value();
    else if (a == "--sqlite-dir")
      o.sqlite_dir = value();
    else
      usage();
  }
  if (o.sqlite_dir.empty()) usage();
  return o;
}

// --- a small PKI made here: a root (the trust anchor) and EC leaves issued by it ---------------------

smime::PkeyPtr ec_key() {
  return smime::take<smime::PkeyPtr>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), "EC key");
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext = smime::take<X509ExtPtr>(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value), "extension");
  smime::check(X509_add_ext(cert, ext.get(), -1), "adding an extension");
}

smime::X509Ptr make_cert(const std::string& cn, const std::string& email, EVP_PKEY* key, X509* issuer,
                         EVP_PKEY* issuer_key) {
  static std::mt19937_64 rng(12345);
  smime::X509Ptr cert = smime::take<smime::X509Ptr>(X509_new(), "certificate");
  X509* c = cert.get();
  smime::check(X509_set_version(c, X509_VERSION_3), "version");
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c), rng() >> 1);
  X509_NAME* name = X509_get_subject_name(c);
  smime::check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                          reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
               "CN");
  X509* signer = issuer != nullptr ? issuer : c;
  smime::check(X509_set_issuer_name(c, X509_get_subject_name(signer)), "issuer");
  smime::check(X509_set_pubkey(c, key), "public key");
  X509_time_adj_ex(X509_getm_notBefore(c), 0, -3600, nullptr);
  X509_time_adj_ex(X509_getm_notAfter(c), 365, 0, nullptr);
  if (issuer == nullptr) {
    add_ext(c, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c, signer, NID_key_usage, "critical,digitalSignature,keyAgreement");
    add_ext(c, signer, NID_ext_key_usage, "emailProtection");
    add_ext(c, signer, NID_subject_alt_name, ("email:" + email).c_str());
  }
  add_ext(c, signer, NID_subject_key_identifier, "hash");
  if (X509_sign(c, issuer_key, EVP_sha256()) <= 0) smime::throw_openssl(smime::ErrorKind::crypto, "signing");
  return cert;
}

struct Pki {
  smime::PkeyPtr root_key = ec_key();
  smime::X509Ptr root = make_cert("Bench Root", "", root_key.get(), nullptr, root_key.get());
  smime::PkeyPtr leaf_key = ec_key();  // one key for every leaf: issuing is what costs, not keygen
  int issued = 0;
  smime::X509Ptr leaf(const std::string& email) {
    return make_cert("Bench " + std::to_string(++issued), email, leaf_key.get(), root.get(), root_key.get());
  }
};

// --- the operations ----------------------------------------------------------------------------------

struct Backend {
  std::string name;
  std::unique_ptr<keystore::Store> store;
  std::vector<std::string> recipients;  // addresses with a stored certificate
  std::vector<smime::X509Ptr> known;    // their certificates (harvested, last use fresh)
  std::vector<smime::X509Ptr> fresh;    // not yet stored: the next "harvest, new" inputs
  std::size_t next_fresh = 0;
};

keystore::HarvestInput input_for(X509* cert, const std::string& from) {
  keystore::HarvestInput in;
  in.signer = cert;
  in.signature_verified = true;
  in.from_address = from;
  in.message_id = "<bench@example.org>";
  return in;
}

bool g_failed = false;
void fail(const std::string& what) {
  if (!g_failed) std::cerr << "smime-keystore-bench: " << what << "\n";
  g_failed = true;
}

// Runs op for at least `seconds` (and at least 5 times); returns operations per second.
double measure(double seconds, const std::function<void(std::size_t)>& op) {
  std::size_t n = 0;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  while (n < 5 || Clock::now() < until) op(n++);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(n) / elapsed;
}

void populate(Backend& b, Pki& pki, int recipients, std::size_t fresh_needed) {
  const keystore::Time now = static_cast<keystore::Time>(std::time(nullptr));
  b.store->add_anchor(pki.root.get(), now);
  b.store->in_transaction([&] {
    for (int i = 0; i < recipients; ++i) {
      std::string addr = "user" + std::to_string(i) + "@" + b.name + ".example.org";
      smime::X509Ptr cert = pki.leaf(addr);
      b.store->add(keystore::NewCertificate{cert.get(), keystore::Origin::harvested, now, "<m>", addr});
      b.store->mark_used(smime::fingerprint_sha256(cert.get()), now);
      b.recipients.push_back(addr);
      b.known.push_back(std::move(cert));
    }
  });
  for (std::size_t i = 0; i < fresh_needed; ++i)
    b.fresh.push_back(pki.leaf("new" + std::to_string(i) + "@" + b.name + ".example.org"));
}

using Op = std::function<void(Backend&, std::size_t)>;

const std::vector<std::pair<std::string, Op>>& operations() {
  static const std::vector<std::pair<std::string, Op>> ops = {
      {"lookup (encrypt to a recipient)",
       [](Backend& b, std::size_t i) {
         const auto now = static_cast<keystore::Time>(std::time(nullptr));
         if (!keystore::encryption_certificate(*b.store, b.recipients[i % b.recipients.size()], now).found())
           fail(b.name + ": a lookup found nothing");
       }},
      {"harvest, known signer (read)",
       [](Backend& b, std::size_t i) {
         const std::size_t k = i % b.known.size();
         auto d = keystore::harvest(*b.store, input_for(b.known[k].get(), b.recipients[k]), {},
                                    static_cast<keystore::Time>(std::time(nullptr)));
         if (d.outcome != keystore::HarvestOutcome::already_known)
           fail(b.name + ": known signer: " + d.reason);
       }},
      {"harvest, new certificate (write)",
       [](Backend& b, std::size_t) {
         if (b.next_fresh >= b.fresh.size()) {
           fail(b.name + ": ran out of fresh certificates (raise the pool)");
           return;
         }
         X509* cert = b.fresh[b.next_fresh].get();
         const std::string from = keystore::facts_of(cert).emails.front();
         ++b.next_fresh;
         auto d = keystore::harvest(*b.store, input_for(cert, from), {},
                                    static_cast<keystore::Time>(std::time(nullptr)));
         if (d.outcome != keystore::HarvestOutcome::stored) fail(b.name + ": new signer: " + d.reason);
       }},
      {"generation() (cache check)", [](Backend& b, std::size_t) { b.store->generation(); }},
  };
  return ops;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    Pki pki;
    std::vector<Backend> backends;
    {
      keystore::StoreLocation sqlite;
      sqlite.path = (std::filesystem::path(o.sqlite_dir) / "bench-keystore.db").string();
      std::filesystem::remove(sqlite.path);
      backends.push_back(Backend{"sqlite", keystore::open_store(sqlite), {}, {}, {}, 0});
    }
    if (!o.url.empty()) {
      keystore::StoreLocation pg;
      pg.url = o.url;
      backends.push_back(Backend{"postgresql", keystore::open_store(pg), {}, {}, {}, 0});
    }
    std::cout << "keystore benchmark: " << o.rounds << " interleaved rounds, " << o.seconds
              << " s per point, " << o.recipients << " stored recipients\n";
    for (auto& b : backends) {
      populate(b, pki, o.recipients, 200);
      std::cout << "  " << b.name << ": " << b.store->describe() << "\n";
    }

    std::map<std::string, std::map<std::string, std::vector<double>>> rates;  // op -> backend -> per round
    for (int r = 0; r < o.rounds; ++r)
      for (const auto& [name, op] : operations())
        for (auto& b : backends) {
          std::vector<double>& mine = rates[name][b.name];
          if (name.find("(write)") != std::string::npos) {
            // Fresh certificates for this point, issued before it is timed: three times what the last
            // round used.
            const double last = mine.empty() ? 300.0 : mine.back();
            const auto want = static_cast<std::size_t>(3 * last * o.seconds) + 50;
            while (b.fresh.size() - b.next_fresh < want)
              b.fresh.push_back(
                  pki.leaf("new" + std::to_string(b.fresh.size()) + "@" + b.name + ".example.org"));
          }
          const auto& run = op;  // a structured binding cannot be captured by clang 14
          mine.push_back(measure(o.seconds, [&](std::size_t i) { run(b, i); }));
        }

    std::printf("\n%-36s %12s %14s %10s\n", "operation (median of rounds)", "sqlite/s", "postgresql/s",
                "pg/sqlite");
    for (const auto& [name, op] : operations()) {
      const double s = median(rates[name]["sqlite"]);
      if (backends.size() < 2) {
        std::printf("%-36s %12.0f %14s %10s\n", name.c_str(), s, "-", "-");
        continue;
      }
      const double p = median(rates[name]["postgresql"]);
      std::printf("%-36s %12.0f %14.0f %10.2f\n", name.c_str(), s, p, s > 0 ? p / s : 0.0);
    }
  } catch (const std::exception& e) {
    std::cerr << "smime-keystore-bench: " << e.what() << "\n";
    return 1;
  }
  return g_failed ? 1 : 0;
}
