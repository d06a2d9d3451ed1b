// The cache: persisted across Checkers, negative entries, corrupt or tampered files, the CLI's view, the
// directory's mode, and a shared CacheStore (claims, waiting for another Checker's fetch).
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "revocation_support.hpp"
#include "temp_dir.hpp"

using revocation::Checker;
using revocation::Method;
using revocation::Status;
using revocation::Why;

namespace {

revocation::Options cached_options(const test::TempDir& dir,
                                   std::vector<Method> order = {Method::ocsp, Method::crl}) {
  revocation::Options o = test::fast_options(std::move(order));
  o.cache_directory = dir.root() / "cache";
  return o;
}

std::vector<std::filesystem::path> cache_files(const test::TempDir& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir.root() / "cache")) files.push_back(e.path());
  return files;
}

}  // namespace

TEST_CASE("revocation: Cache: a second Checker answers from the files with the servers stopped",
          "[revocation][cache]") {
  test::TempDir dir("revocation-cache");
  const std::time_t now = std::time(nullptr);
  smime::X509Ptr issuer = test::inter();
  {
    test::OcspResponder responder;
    test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
    Checker first(cached_options(dir));
    CHECK(first.check(test::rev_cert("rev-good").get(), issuer.get(), now).status == Status::good);
    CHECK(first.check(test::rev_cert("rev-revoked").get(), issuer.get(), now).status == Status::revoked);
    revocation::Answer c = first.check(test::rev_cert("rev-crlonly").get(), issuer.get(), now);
    CHECK(c.status == Status::good);
    CHECK_FALSE(c.from_cache);
  }
  struct stat st {};
  REQUIRE(::stat((dir.root() / "cache").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  Checker second(cached_options(dir));
  revocation::Answer good = second.check(test::rev_cert("rev-good").get(), issuer.get(), now + 60);
  INFO(good.reason);
  CHECK(good.status == Status::good);
  CHECK(good.source == Method::ocsp);
  CHECK(good.from_cache);
  revocation::Answer revoked = second.check(test::rev_cert("rev-revoked").get(), issuer.get(), now + 60);
  CHECK(revoked.status == Status::revoked);
  CHECK(revoked.revocation_reason == "keyCompromise");
  CHECK(revoked.from_cache);
  revocation::Answer crl = second.check(test::rev_cert("rev-crlonly").get(), issuer.get(), now + 60);
  INFO(crl.reason);
  CHECK(crl.status == Status::good);
  CHECK(crl.source == Method::crl);
  CHECK(crl.from_cache);
  CHECK(crl.reason.find("(cached)") != std::string::npos);

  // cached() answers without the network; a certificate never checked has nothing cached.
  Checker third(cached_options(dir));
  std::optional<revocation::Answer> offline =
      third.cached(test::rev_cert("rev-good").get(), issuer.get(), now + 60);
  REQUIRE(offline);
  CHECK(offline->status == Status::good);
  CHECK_FALSE(third.cached(test::rev_cert("rev-ocsponly").get(), issuer.get(), now + 60));
}

TEST_CASE("revocation: Cache: a dead responder costs one connection per negative_cache period",
          "[revocation][cache]") {
  test::TempDir dir("revocation-cache");
  test::HttpServer dead({test::kOcspPort, "", "close", "", 0});
  revocation::Options o = cached_options(dir, {Method::ocsp});
  o.negative_cache = std::chrono::seconds(300);
  Checker checker(o);
  smime::X509Ptr issuer = test::inter();
  const std::time_t now = std::time(nullptr);
  revocation::Answer first = checker.check(test::rev_cert("rev-good").get(), issuer.get(), now);
  CHECK(first.status == Status::undetermined);
  CHECK(first.why == Why::network);
  CHECK_FALSE(first.from_cache);
  CHECK(dead.count() == 1);
  // Another certificate behind the same responder, inside the period: no new connection.
  revocation::Answer second = checker.check(test::rev_cert("rev-revoked").get(), issuer.get(), now + 10);
  INFO(second.reason);
  CHECK(second.status == Status::undetermined);
  CHECK(second.why == Why::network);
  CHECK(second.reason.find("(cached)") != std::string::npos);
  CHECK(second.from_cache);  // answered by the negative entry, not fetched
  CHECK(dead.count() == 1);
  // The negative entry is persisted: a restarted Checker does not try either.
  Checker restarted(o);
  CHECK(restarted.check(test::rev_cert("rev-good").get(), issuer.get(), now + 20).why == Why::network);
  CHECK(dead.count() == 1);
  // After the period the responder is asked again.
  CHECK(checker.check(test::rev_cert("rev-good").get(), issuer.get(), now + 301).why == Why::network);
  CHECK(dead.count() == 2);
}

TEST_CASE("revocation: Cache: corrupt and tampered files are ignored and replaced", "[revocation][cache]") {
  test::TempDir dir("revocation-cache");
  smime::X509Ptr issuer = test::inter();
  smime::X509Ptr cert = test::rev_cert("rev-crlonly");
  const std::time_t now = std::time(nullptr);
  revocation::Options o = cached_options(dir, {Method::crl});
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
  {
    Checker first(o);
    CHECK(first.check(cert.get(), issuer.get(), now).status == Status::good);
  }
  REQUIRE(crl.count() == 1);
  std::vector<std::filesystem::path> files = cache_files(dir);
  REQUIRE(files.size() == 1);

  SECTION("garbage") { std::ofstream(files[0], std::ios::trunc) << "this is not a cache file\n"; }
  SECTION("a CRL whose signature no longer verifies") {
    std::string bytes;
    {
      std::ifstream in(files[0], std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[bytes.size() - 5] = static_cast<char>(bytes[bytes.size() - 5] ^ 0x55);  // inside the signature
    std::ofstream(files[0], std::ios::binary | std::ios::trunc) << bytes;
  }
  SECTION("a truncated file") {
    std::filesystem::resize_file(files[0], std::filesystem::file_size(files[0]) / 2);
  }

  Checker second(o);
  revocation::Answer a = second.check(cert.get(), issuer.get(), now + 10);
  INFO(a.reason);
  CHECK(a.status == Status::good);
  CHECK_FALSE(a.from_cache);
  CHECK(crl.count() == 2);  // fetched again
  // ...and the file was replaced by a good one.
  crl.stop();
  Checker third(o);
  revocation::Answer b = third.check(cert.get(), issuer.get(), now + 20);
  CHECK(b.status == Status::good);
  CHECK(b.from_cache);
}

TEST_CASE("revocation: Cache: a tampered OCSP answer is not believed", "[revocation][cache]") {
  test::TempDir dir("revocation-cache");
  smime::X509Ptr issuer = test::inter();
  smime::X509Ptr cert = test::rev_cert("rev-ocsponly");
  const std::time_t now = std::time(nullptr);
  revocation::Options o = cached_options(dir, {Method::ocsp});
  {
    test::OcspResponder responder;
    Checker first(o);
    CHECK(first.check(cert.get(), issuer.get(), now).status == Status::good);
  }
  std::vector<std::filesystem::path> files = cache_files(dir);
  REQUIRE(files.size() == 1);
  std::string bytes;
  {
    std::ifstream in(files[0], std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x01);
  std::ofstream(files[0], std::ios::binary | std::ios::trunc) << bytes;

  test::wait_port_free(test::kOcspPort);
  Checker second(o);
  revocation::Answer a = second.check(cert.get(), issuer.get(), now + 10);
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::connection_refused);
  CHECK_FALSE(std::filesystem::exists(files[0]));
}

TEST_CASE("revocation: Cache: cache_entries shows what concerns a certificate", "[revocation][cache]") {
  test::TempDir dir("revocation-cache");
  smime::X509Ptr issuer = test::inter();
  smime::X509Ptr cert = test::rev_cert("rev-good");
  const std::time_t now = std::time(nullptr);
  test::OcspResponder responder;
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
  Checker checker(cached_options(dir, {Method::crl, Method::ocsp}));
  CHECK(checker.cache_entries(cert.get(), issuer.get()).empty());
  REQUIRE(checker.check(cert.get(), issuer.get(), now).status == Status::good);
  std::vector<revocation::CacheEntry> entries = checker.cache_entries(cert.get(), issuer.get());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].kind == "crl");
  CHECK(entries[0].url == test::kCrlUrl);
  CHECK(std::filesystem::exists(entries[0].file));
  CHECK(entries[0].stored_at == now);
  CHECK(entries[0].next_update.has_value());
  CHECK(entries[0].expires_at == *entries[0].next_update + checker.options().crl_grace.count());
}

TEST_CASE("revocation: Cache: an existing directory writable by group or others is refused",
          "[revocation][cache]") {
  test::TempDir dir("revocation-cache");
  const std::filesystem::path cache = dir.root() / "cache";
  for (unsigned mode : {0770u, 0702u, 0777u}) {
    std::filesystem::create_directory(cache);
    REQUIRE(::chmod(cache.c_str(), mode) == 0);
    INFO("mode " << std::oct << mode);
    try {
      Checker c(cached_options(dir));
      FAIL("a Checker accepted a cache directory of mode " << std::oct << mode);
    } catch (const smime::Error& e) {
      CHECK(e.kind() == smime::ErrorKind::io);
      CHECK_THAT(e.what(),
                 Catch::Contains("writable by its group or others") && Catch::Contains("chmod 700"));
    }
    std::filesystem::remove(cache);
  }
  std::filesystem::create_directory(cache);
  REQUIRE(::chmod(cache.c_str(), 0750) == 0);  // readable by the group: accepted
  CHECK_NOTHROW(Checker(cached_options(dir)));
}

namespace {

// A CacheStore shared by several Checkers as a database would be (the keystore's is tested with
// PostgreSQL in test/pg): entries and fetch claims in memory, claims expiring after their bound.
class SharedMemoryStore final : public revocation::CacheStore {
 public:
  std::optional<revocation::StoredEntry> load(const std::string& kind, const std::string& key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(kind + "\n" + key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  void save(const revocation::StoredEntry& e) override {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_[e.kind + "\n" + e.key] = e;
  }
  void remove(const std::string& kind, const std::string& key,
              std::optional<std::time_t> expired_by) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(kind + "\n" + key);
    if (it != entries_.end() && (!expired_by || it->second.expires_at <= *expired_by)) entries_.erase(it);
  }
  bool shared() const override { return true; }
  std::optional<std::string> claim(const std::string& flight, std::chrono::seconds bound) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    auto it = claims_.find(flight);
    if (it != claims_.end() && it->second.second > now) return std::nullopt;
    const std::string token = std::to_string(++tokens_);
    claims_[flight] = {token, now + bound};
    return token;
  }
  void release(const std::string& flight, const std::string& token) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = claims_.find(flight);
    if (it != claims_.end() && it->second.first == token) claims_.erase(it);
  }

  std::map<std::string, revocation::StoredEntry> take_entries() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(entries_, {});
  }
  void put_back(std::map<std::string, revocation::StoredEntry> entries) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_ = std::move(entries);
  }
  // Claims every flight as a gateway that then dies would: never released.
  void claim_all_for(std::chrono::seconds bound) {
    all_claimed_until_ = std::chrono::steady_clock::now() + bound;
  }
  std::optional<std::string> claim_checked(const std::string& flight, std::chrono::seconds bound) {
    if (std::chrono::steady_clock::now() < all_claimed_until_) return std::nullopt;
    return claim(flight, bound);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, revocation::StoredEntry> entries_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> claims_;
  unsigned long tokens_ = 0;
  std::chrono::steady_clock::time_point all_claimed_until_{};
};

// The same store, with every flight held by someone else until a time (a gateway busy fetching, or
// one that died holding its claims).
class ClaimedStore final : public revocation::CacheStore {
 public:
  explicit ClaimedStore(std::shared_ptr<SharedMemoryStore> inner) : inner_(std::move(inner)) {}
  std::optional<revocation::StoredEntry> load(const std::string& k, const std::string& key) override {
    return inner_->load(k, key);
  }
  void save(const revocation::StoredEntry& e) override { inner_->save(e); }
  void remove(const std::string& k, const std::string& key, std::optional<std::time_t> by) override {
    inner_->remove(k, key, by);
  }
  bool shared() const override { return true; }
  std::optional<std::string> claim(const std::string& flight, std::chrono::seconds bound) override {
    ++claims;
    return inner_->claim_checked(flight, bound);
  }
  void release(const std::string& flight, const std::string& token) override {
    inner_->release(flight, token);
  }
  std::atomic<int> claims{0};

 private:
  std::shared_ptr<SharedMemoryStore> inner_;
};

}  // namespace

TEST_CASE("revocation: Cache: a shared CacheStore serves a second Checker with the responder down",
          "[revocation][cache]") {
  auto shared = std::make_shared<SharedMemoryStore>();
  revocation::Options o = test::fast_options({Method::ocsp});
  o.cache_store = shared;
  smime::X509Ptr issuer = test::inter();
  const std::time_t now = std::time(nullptr);
  {
    test::OcspResponder responder;
    Checker first(o);
    CHECK(first.check(test::rev_cert("rev-good").get(), issuer.get(), now).status == Status::good);
  }
  test::wait_port_free(test::kOcspPort);
  Checker second(o);
  revocation::Answer a = second.check(test::rev_cert("rev-good").get(), issuer.get(), now + 10);
  INFO(a.reason);
  CHECK(a.status == Status::good);
  CHECK(a.from_cache);
}

TEST_CASE("revocation: Cache: a Checker finding the fetch claimed waits for the claimant's entry",
          "[revocation][cache]") {
  auto shared = std::make_shared<SharedMemoryStore>();
  revocation::Options o = test::fast_options({Method::ocsp});
  o.cache_store = shared;
  smime::X509Ptr issuer = test::inter();
  smime::X509Ptr cert = test::rev_cert("rev-good");
  const std::time_t now = std::time(nullptr);
  {
    test::OcspResponder responder;
    Checker fetcher(o);
    REQUIRE(fetcher.check(cert.get(), issuer.get(), now).status == Status::good);
  }
  test::wait_port_free(test::kOcspPort);
  // The entry is taken away and every fetch claimed by "another gateway", which writes the entry back
  // after 500 ms: the Checker must wait for it instead of fetching (the responder is down: a fetch
  // would come back undetermined).
  auto entries = shared->take_entries();
  REQUIRE(entries.size() == 1);
  shared->claim_all_for(std::chrono::seconds(30));
  auto claimed = std::make_shared<ClaimedStore>(shared);
  revocation::Options waiting = o;
  waiting.cache_store = claimed;
  Checker checker(waiting);
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    shared->put_back(std::move(entries));
  });
  revocation::Answer a = checker.check(cert.get(), issuer.get(), now + 5);
  other.join();
  INFO(a.reason);
  CHECK(a.status == Status::good);
  CHECK(claimed->claims >= 2);  // it tried, waited, tried again
}

TEST_CASE("revocation: Cache: a claim nobody releases is waited out, then the Checker fetches itself",
          "[revocation][cache]") {
  auto shared = std::make_shared<SharedMemoryStore>();
  shared->claim_all_for(std::chrono::seconds(300));  // a gateway that died holding its claims
  auto claimed = std::make_shared<ClaimedStore>(shared);
  revocation::Options o = test::fast_options({Method::ocsp});
  o.timeout = std::chrono::milliseconds(900);  // the wait is bounded by timeout + 5 s
  o.cache_store = claimed;
  test::OcspResponder responder;
  Checker checker(o);
  const auto start = std::chrono::steady_clock::now();
  revocation::Answer a =
      checker.check(test::rev_cert("rev-good").get(), test::inter().get(), std::time(nullptr));
  const auto waited = std::chrono::steady_clock::now() - start;
  INFO(a.reason);
  CHECK(a.status == Status::good);
  CHECK(waited >= std::chrono::seconds(4));  // it did wait for the claim...
  CHECK(waited < std::chrono::seconds(20));  // ...within its bound
}
