// Subcommands that change the store: import, remove, trust. Each runs in one transaction: all of it
// is stored, or (on any refusal or error) nothing.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <thread>

#include "context.hpp"
#include "format.hpp"
#include "keystore/bundle.hpp"
#include "keystore/error.hpp"
#include "keystore/identity.hpp"
#include "keystore/requirements.hpp"
#include "secret.hpp"
#include "smime/cert.hpp"

namespace cli {

namespace {

bool needs_passphrase(const std::string& bytes) {
  return keystore::looks_like_pkcs12(bytes) ||
         bytes.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
         bytes.find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
}

keystore::Purpose purpose_from(const std::optional<std::string>& s, keystore::Purpose fallback) {
  if (!s) return fallback;
  for (auto p :
       {keystore::Purpose::encrypt, keystore::Purpose::sign, keystore::Purpose::both, keystore::Purpose::any})
    if (*s == keystore::to_string(p)) return p;
  throw UsageError("--purpose is encrypt, sign, both or any");
}

// Test hook (documented in the man page): a pause after each certificate inside the import
// transaction, so that the tests can kill an import half-way.
void test_delay() {
  static const char* ms = std::getenv("SMIME_KEYSTORE_TEST_DELAY_MS");
  if (ms == nullptr) return;
  std::cerr << "smime-keystore: test: pausing inside the import transaction" << std::endl;
  std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
}

void refuse(const keystore::CertFacts& f, const keystore::Check& check, keystore::Purpose purpose) {
  const bool usage = check.problem == keystore::Problem::wrong_key_usage;
  const std::string hint = usage ? "give --purpose sign (or any) if it is meant for that, or " : "";
  throw keystore::Error(keystore::ErrorKind::refused, "refused " + f.fingerprint.substr(0, 23) + " (" +
                                                          f.subject + "): " + check.reason + " [purpose " +
                                                          keystore::to_string(purpose) + "]; " + hint +
                                                          "--force imports anyway");
}

struct Importer {
  Context& c;
  std::vector<std::string>& report;  // printed after the commit, so nothing claims an import that rolled back
  keystore::Store& store;
  bool force;
  std::optional<std::string> purpose_opt;
  std::string key_pass;

  void check(X509* cert, keystore::Purpose purpose) {
    auto f = keystore::facts_of(cert);
    if (auto chk = keystore::check_import(f, purpose, now()); !chk.ok()) {
      if (!force) refuse(f, chk, purpose);
      std::cerr << "smime-keystore: warning: importing despite: " << chk.reason << " (--force)\n";
    }
  }

  void identity(keystore::Bundle& b) {
    std::vector<smime::X509Ptr> chain;
    smime::X509Ptr leaf;
    for (auto& cert : b.certs) {
      if (!leaf && X509_check_private_key(cert.get(), b.key.get()) == 1)
        leaf = std::move(cert);
      else if (cert)
        chain.push_back(std::move(cert));
    }
    if (!leaf)
      throw smime::Error(smime::ErrorKind::bad_input, "no certificate in the input matches the private key");
    check(leaf.get(), purpose_from(purpose_opt, keystore::Purpose::any));
    keystore::put_identity(store, leaf.get(), b.key.get(), chain, key_pass, now());
    if (key_pass.empty())
      std::cerr << "smime-keystore: note: private key stored unencrypted, protected by the store file's mode "
                   "(give --key-pass to encrypt it)\n";
    report.push_back("identity " + smime::fingerprint_sha256(leaf.get()) + " " +
                     smime::subject_name(leaf.get()));
    test_delay();
  }

  void certificates(keystore::Bundle& b) {
    auto split = keystore::split_leaves(std::move(b.certs));
    for (const auto& ca : split.cas)
      std::cerr << "smime-keystore: skipped CA certificate " << smime::subject_name(ca.get())
                << " (add it with 'smime-keystore trust add' if it is a trust anchor)\n";
    for (const auto& cert : split.leaves) {
      const std::string fp = smime::fingerprint_sha256(cert.get());
      if (auto existing = store.find(fp)) {
        if (existing->origin == keystore::Origin::harvested) store.set_origin(fp, keystore::Origin::imported);
        report.push_back("known " + fp + " " + existing->facts.subject);
        continue;
      }
      check(cert.get(), purpose_from(purpose_opt, keystore::Purpose::encrypt));
      store.add(keystore::NewCertificate{cert.get(), keystore::Origin::imported, now(), {}, {}});
      report.push_back("imported " + fp + " " + smime::subject_name(cert.get()));
      test_delay();
    }
  }
};

}  // namespace

int cmd_import(Context& c) {
  c.args.positional_count(1, 1000);
  purpose_from(c.args.one("purpose"), keystore::Purpose::any);  // validate early
  // Read and decode everything before touching the store: prompts happen outside the transaction.
  std::vector<keystore::Bundle> bundles;
  const std::optional<std::string> key_file = c.args.one("key");
  for (const auto& path : c.args.positional) {
    std::string bytes = read_input(path);
    if (key_file) bytes += "\n" + read_input(*key_file);
    std::string pass;
    if (needs_passphrase(bytes))
      pass = secret_or_prompt(c.args.one("pass"), "passphrase for " + path, "pass");
    bundles.push_back(keystore::read_bundle(bytes, pass));
  }
  std::vector<std::string> report;
  // The key passphrase only when a key is stored (the milter's passphrase file may be unreadable here).
  const bool any_key =
      std::any_of(bundles.begin(), bundles.end(), [](const auto& b) { return b.key != nullptr; });
  Importer imp{c,
               report,
               c.open(),
               c.args.flag("force"),
               c.args.one("purpose"),
               any_key ? c.key_passphrase() : std::string()};
  c.open().in_transaction([&] {
    for (auto& b : bundles) {
      if (b.key)
        imp.identity(b);
      else
        imp.certificates(b);
    }
  });
  for (const auto& line : report) std::cout << line << "\n";
  return kOk;
}

int cmd_remove(Context& c) {
  c.args.positional_count(1, 1000);
  std::vector<std::string> report;
  c.open().in_transaction([&] {
    for (const auto& sel : c.args.positional) {
      auto r = c.select(sel);
      c.open().remove(r.facts.fingerprint);
      report.push_back("removed " + r.facts.fingerprint + " " + r.facts.subject);
    }
  });
  for (const auto& line : report) std::cout << line << "\n";
  return kOk;
}

int cmd_trust(Context& c) {
  if (c.args.positional.empty()) throw UsageError("trust: add FILE..., list, or remove FINGERPRINT...");
  const std::string sub = c.args.positional[0];
  std::vector<std::string> rest(c.args.positional.begin() + 1, c.args.positional.end());
  keystore::Store& store = c.open();
  std::vector<std::string> report;  // printed after the commit
  auto print_report = [&] {
    for (const auto& line : report) std::cout << line << "\n";
    return kOk;
  };
  if (sub == "list") {
    if (!rest.empty()) throw UsageError("trust list takes no arguments");
    auto anchors = store.anchors();
    if (c.json()) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& a : anchors)
        j.push_back({{"fingerprint", a.fingerprint},
                     {"subject", a.subject},
                     {"not_after", iso_time(a.not_after)},
                     {"added", iso_time(a.added)}});
      std::cout << j.dump(2) << "\n";
    } else {
      for (const auto& a : anchors)
        std::cout << a.fingerprint << "  " << iso_time(a.not_after).substr(0, 10) << "  " << a.subject
                  << "\n";
    }
    return kOk;
  }
  if (rest.empty()) throw UsageError("trust " + sub + ": missing argument");
  if (sub == "add") {
    std::vector<smime::X509Ptr> certs;
    for (const auto& path : rest)
      for (auto& cert : keystore::read_bundle(read_input(path), "").certs) certs.push_back(std::move(cert));
    store.in_transaction([&] {
      for (const auto& cert : certs) {
        auto f = keystore::facts_of(cert.get());
        if (!f.is_ca && !c.args.flag("force"))
          throw keystore::Error(
              keystore::ErrorKind::refused,
              "refused " + f.subject + ": not a CA certificate; use --force to trust it directly");
        bool added = store.add_anchor(cert.get(), now());
        report.push_back((added ? "trusted " : "known ") + f.fingerprint + " " + f.subject + " (" +
                         std::string(smime::to_string(smime::anchor_kind(cert.get()))) + ")");
      }
    });
    return print_report();
  }
  if (sub == "remove") {
    store.in_transaction([&] {
      for (const auto& sel : rest) {
        std::string hex;
        for (char ch : sel)
          if (ch != ':') hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
        std::string match;
        int n = 0;
        for (const auto& a : store.anchors()) {
          std::string ahex;
          for (char ch : a.fingerprint)
            if (ch != ':') ahex.push_back(ch);
          if (hex.size() >= 4 && ahex.rfind(hex, 0) == 0) {
            match = a.fingerprint;
            ++n;
          }
        }
        if (n == 0) throw keystore::Error(keystore::ErrorKind::not_found, "no trust anchor " + sel);
        if (n > 1) throw UsageError("several trust anchors start with " + sel + "; give more digits");
        store.remove_anchor(match);
        report.push_back("removed " + match);
      }
    });
    return print_report();
  }
  throw UsageError("trust: unknown action '" + sub + "' (add, list, remove)");
}

}  // namespace cli
