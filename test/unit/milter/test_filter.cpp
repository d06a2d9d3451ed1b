// The callback layer (filter.hpp) driven through RecordingApi, without an MTA: what is collected from
// the callbacks, how a verdict is applied (order, 64 KiB chunks, progress, nothing changed unless the
// whole verdict can be applied), per-message state across several messages on one connection, the
// configuration snapshot, failure paths (full disk, keystore unavailable, split copy undeliverable),
// and one real signing run through the pipeline on a temporary keystore. Also the SMTP client of the
// split copy against an in-process SMTP server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "../smime/test_support.hpp"
#include "conf/config.hpp"
#include "keystore/identity.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/context.hpp"
#include "milter/filter.hpp"
#include "milter/pipeline.hpp"
#include "milter/smtp_client.hpp"
#include "recording_api.hpp"
#include "temp_dir.hpp"

namespace {

using milter::CallbackStatus;
using milter::ConnectionContext;
using milter::Filter;
using milter::HeaderEdit;
using milter::LiveConfig;
using milter::Message;
using milter::RecordingApi;
using milter::Verdict;

using TempDir = test::TempDir;

// A configuration with the spool and keystore in `dir`; `profile` is the default profile's JSON.
std::shared_ptr<const conf::Config> make_config(const TempDir& dir, const std::string& profile,
                                                const std::string& origin = "test",
                                                const std::string& memory_limit = "4M") {
  std::filesystem::create_directories(dir.path("spool"));
  const std::string json =
      R"({"spool": {"directory": ")" + dir.path("spool") + R"(", "memory_limit": ")" + memory_limit +
      R"("}, "keystore": {"path": ")" + dir.path("keystore.db") +
      R"("}, "revocation": {"cache_directory": ")" + dir.path("revocation") + R"("}, )" +
      (profile == "none" ? std::string(R"("outbound": {"default_profile": "none"}})")
                         : R"("profiles": {"p": )" + profile + R"(}, "outbound": {"default_profile": "p"}})");
  return std::make_shared<const conf::Config>(conf::parse(json, origin));
}

const char* kNone = "none";  // the built-in pass-through profile
const char* kSign = R"({"mode": "sign", "sign_mode": "detached", "signing_identity": "sender-domain"})";

// A fake pipeline: records what it was given, returns a prepared verdict.
struct FakePipeline {
  std::vector<Message> seen;
  std::vector<std::string> origins;  // config origin of each call
  std::vector<std::string> bodies;
  Verdict verdict;

  milter::Processor processor() {
    return [this](milter::Job& job) {
      seen.push_back(job.message);
      origins.push_back(job.config.origin);
      bodies.push_back(job.message.body.slice(job.message.body.all()));
      return verdict;
    };
  }
};

// A store opener that must not be needed (fake pipelines ignore the store): a real store in the temp dir.
struct StoreHolder {
  std::unique_ptr<keystore::Store> store;
  explicit StoreHolder(const TempDir& dir) : store(keystore::open_sqlite_store(dir.path("keystore.db"))) {}
  milter::StoreOpener opener() {
    return [this](ConnectionContext&, const conf::Config&) -> keystore::Store& { return *store; };
  }
};

// Sends one message through the callbacks; returns the eom status.
CallbackStatus send(Filter& f, ConnectionContext& ctx, RecordingApi& api, const std::string& from,
                    const std::vector<std::string>& rcpts,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::vector<std::string>& body_chunks) {
  REQUIRE(f.on_envfrom(ctx, api, {"<" + from + ">", "SIZE=100"}) == CallbackStatus::continue_);
  for (const auto& r : rcpts) REQUIRE(f.on_envrcpt(ctx, api, {"<" + r + ">"}) == CallbackStatus::continue_);
  for (const auto& [n, v] : headers) REQUIRE(f.on_header(ctx, api, n, v) == CallbackStatus::continue_);
  REQUIRE(f.on_eoh(ctx, api) == CallbackStatus::continue_);
  for (const auto& c : body_chunks) REQUIRE(f.on_body(ctx, api, c) == CallbackStatus::continue_);
  return f.on_eom(ctx, api);
}

const std::vector<std::pair<std::string, std::string>> kHeaders = {
    {"From", " User <user@example.com>"},
    {"To", " bob@example.org"},
    {"Subject", " hello\r\n\tfolded"},
    {"Content-Type", " text/plain; charset=utf-8"}};

void connect(Filter& f, ConnectionContext& ctx, RecordingApi& api) {
  ctx.leading_space = true;  // as negotiated with Postfix
  REQUIRE(f.on_connect(ctx, api, "localhost", "127.0.0.1") == CallbackStatus::continue_);
  REQUIRE(f.on_helo(ctx, api, "client.example.com") == CallbackStatus::continue_);
}

}  // namespace

TEST_CASE("filter: envelope, headers and body are collected as received", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  FakePipeline pipe;
  StoreHolder store(dir);
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  api.set_symbol("i", "4ABC123");
  api.set_symbol("{auth_authen}", "alice");
  connect(f, ctx, api);

  CallbackStatus s = send(f, ctx, api, "user@example.com", {"bob@example.org", "carol@example.net"}, kHeaders,
                          {"line one\r\n", "line two\r\n"});
  CHECK(s == CallbackStatus::continue_);
  REQUIRE(pipe.seen.size() == 1);
  const Message& m = pipe.seen[0];
  CHECK(m.envelope.queue_id == "4ABC123");
  CHECK(m.envelope.sender == "user@example.com");
  CHECK(m.envelope.recipients == std::vector<std::string>{"bob@example.org", "carol@example.net"});
  CHECK(m.envelope.client_address == "127.0.0.1");
  CHECK(m.envelope.authenticated);
  CHECK(m.envelope.auth_user == "alice");
  REQUIRE(m.headers.items.size() == 4);
  CHECK(m.headers.items[2].name == "Subject");
  CHECK(m.headers.items[2].value == " hello\r\n\tfolded");
  CHECK(m.headers.get("Subject") == "hello\tfolded");  // unfolding removes the line end only
  CHECK(pipe.bodies[0] == "line one\r\nline two\r\n");
  CHECK_FALSE(api.modified());
  CHECK(ctx.message() == nullptr);  // torn down at eom
}

TEST_CASE("filter: without SMFIP_HDR_LEADSPC the leading space is restored and not sent back", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  FakePipeline pipe;
  pipe.verdict.header_edits.push_back({HeaderEdit::Kind::add, "X-Test", 1, "yes"});
  StoreHolder store(dir);
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  REQUIRE(f.on_connect(ctx, api, "localhost", "127.0.0.1") == CallbackStatus::continue_);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, {{"Subject", "no space"}}, {"x\r\n"}) ==
        CallbackStatus::continue_);
  CHECK(pipe.seen[0].headers.items[0].value == " no space");
  REQUIRE(api.of("addheader").size() == 1);
  CHECK(api.of("addheader")[0].value == "yes");

  // With it, the value we add carries its space.
  RecordingApi api2;
  ctx.leading_space = true;
  CHECK(send(f, ctx, api2, "a@example.com", {"b@example.org"}, {{"Subject", " with space"}}, {"x\r\n"}) ==
        CallbackStatus::continue_);
  CHECK(pipe.seen[1].headers.items[0].value == " with space");
  CHECK(api2.of("addheader")[0].value == " yes");
}

TEST_CASE("filter: the n-th message on a connection is like the first (after abort, reject, RSET)",
          "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  FakePipeline pipe;
  StoreHolder store(dir);
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  api.set_symbol("i", "Q1");
  connect(f, ctx, api);

  CHECK(send(f, ctx, api, "a@example.com", {"r1@example.org"}, kHeaders, {"first\r\n"}) ==
        CallbackStatus::continue_);

  // A message rejected by the pipeline.
  pipe.verdict.action = conf::Action::reject;
  pipe.verdict.reply.code = "550";
  pipe.verdict.reply.status = "5.7.1";
  pipe.verdict.reply.text = "no certificate for r2@example.org";
  CHECK(send(f, ctx, api, "a@example.com", {"r2@example.org"}, kHeaders, {"second\r\n"}) ==
        CallbackStatus::reject);
  pipe.verdict = Verdict{};

  // An aborted one (RSET / client gone after DATA): the callbacks stop half-way.
  REQUIRE(f.on_envfrom(ctx, api, {"<x@example.com>"}) == CallbackStatus::continue_);
  REQUIRE(f.on_envrcpt(ctx, api, {"<r3@example.org>"}) == CallbackStatus::continue_);
  REQUIRE(f.on_header(ctx, api, "X-Leak", " should not survive") == CallbackStatus::continue_);
  REQUIRE(f.on_body(ctx, api, "aborted body\r\n") == CallbackStatus::continue_);
  REQUIRE(f.on_abort(ctx, api) == CallbackStatus::continue_);
  CHECK(ctx.message() == nullptr);

  // A new MAIL FROM without an abort in between (envfrom destroys the old message itself).
  REQUIRE(f.on_envfrom(ctx, api, {"<y@example.com>"}) == CallbackStatus::continue_);
  REQUIRE(f.on_envrcpt(ctx, api, {"<r4@example.org>"}) == CallbackStatus::continue_);
  REQUIRE(f.on_header(ctx, api, "X-Leak", " neither") == CallbackStatus::continue_);

  CHECK(send(f, ctx, api, "a@example.com", {"r1@example.org"}, kHeaders, {"first\r\n"}) ==
        CallbackStatus::continue_);

  REQUIRE(pipe.seen.size() == 3);
  const Message& first = pipe.seen[0];
  const Message& last = pipe.seen[2];
  CHECK(last.envelope.sender == first.envelope.sender);
  CHECK(last.envelope.recipients == first.envelope.recipients);
  CHECK(last.headers.items.size() == first.headers.items.size());
  CHECK(last.headers.count("X-Leak") == 0);
  CHECK(pipe.bodies[2] == pipe.bodies[0]);
  CHECK(api.of("setreply").size() == 1);  // only the rejected one
  REQUIRE(f.on_close(ctx, api) == CallbackStatus::continue_);
}

TEST_CASE("filter: a verdict is applied in order: headers, body in 64 KiB chunks, recipients", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  FakePipeline pipe;
  std::string big;
  for (int i = 0; big.size() < 9 * 1024 * 1024 + 17; ++i) big += "line " + std::to_string(i) + "\r\n";
  pipe.verdict.header_edits = {{HeaderEdit::Kind::change, "Content-Type", 1, "multipart/signed; x=y"},
                               {HeaderEdit::Kind::change, "Content-Transfer-Encoding", 1, ""},
                               {HeaderEdit::Kind::insert_first, "X-First", 1, "1"},
                               {HeaderEdit::Kind::add, "X-SMIME-Milter", 1, "signed"}};
  pipe.verdict.new_body = smime::Source::from_string(big);
  pipe.verdict.remove_recipients = {"nocert@example.org"};
  StoreHolder store(dir);
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  connect(f, ctx, api);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org", "nocert@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::continue_);

  std::vector<std::string> kinds;
  for (const auto& c : api.calls) {
    if (kinds.empty() || kinds.back() != c.what) kinds.push_back(c.what);
  }
  // Nothing between the body chunks: Postfix refuses body replacement mixed with other requests.
  CHECK(kinds == std::vector<std::string>{"chgheader", "insheader", "addheader", "replacebody", "delrcpt"});
  auto chg = api.of("chgheader");
  REQUIRE(chg.size() == 2);
  CHECK(chg[0].value == " multipart/signed; x=y");
  CHECK(chg[1].value.empty());  // a deletion stays empty
  CHECK(api.of("insheader")[0].index == 0);
  for (const auto& c : api.of("replacebody")) CHECK(c.value.size() <= 64 * 1024);
  CHECK(api.body() == big);
  REQUIRE(api.of("delrcpt").size() == 1);
  CHECK(api.of("delrcpt")[0].name == "<nocert@example.org>");
}

TEST_CASE("filter: progress keeps the MTA waiting while the pipeline works", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  StoreHolder store(dir);
  Verdict verdict;
  verdict.new_body = smime::Source::from_string(std::string(300 * 1024, 'b'));
  Filter f(
      live,
      [&](milter::Job&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return verdict;
      },
      store.opener());
  f.set_progress_interval(std::chrono::milliseconds(40));
  ConnectionContext ctx;
  RecordingApi api;
  connect(f, ctx, api);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::continue_);
  CHECK(api.of("progress").size() >= 3);
  CHECK(api.of("replacebody").size() == 5);
  // every progress call comes before the first body chunk
  bool body_started = false;
  for (const auto& c : api.calls) {
    if (c.what == "replacebody") body_started = true;
    if (c.what == "progress") CHECK_FALSE(body_started);
  }
}

TEST_CASE("filter: reject, tempfail and discard change nothing", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  StoreHolder store(dir);
  struct Case {
    conf::Action action;
    CallbackStatus want;
    std::string code;
  };
  for (const Case& c : {Case{conf::Action::reject, CallbackStatus::reject, "550"},
                        Case{conf::Action::tempfail, CallbackStatus::tempfail, "451"},
                        Case{conf::Action::discard, CallbackStatus::discard, ""}}) {
    FakePipeline pipe;
    pipe.verdict.action = c.action;
    pipe.verdict.header_edits = {{HeaderEdit::Kind::add, "X-Not", 1, "applied"}};
    pipe.verdict.new_body = smime::Source::from_string("not applied\r\n");
    pipe.verdict.remove_recipients = {"b@example.org"};
    Filter f(live, pipe.processor(), store.opener());
    ConnectionContext ctx;
    RecordingApi api;
    connect(f, ctx, api);
    INFO("action " << conf::to_string(c.action));
    CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) == c.want);
    CHECK_FALSE(api.modified());
    if (c.code.empty()) {
      CHECK(api.of("setreply").empty());
    } else {
      REQUIRE(api.of("setreply").size() == 1);
      CHECK(api.of("setreply")[0].name == c.code);
    }
  }
}

TEST_CASE("filter: a call refused by the MTA half-way tempfails the message", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  FakePipeline pipe;
  pipe.verdict.header_edits = {{HeaderEdit::Kind::add, "X-A", 1, "1"}};
  pipe.verdict.new_body = smime::Source::from_string(std::string(200 * 1024, 'a'));
  pipe.verdict.remove_recipients = {"b@example.org"};
  StoreHolder store(dir);
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  api.fail_on = "replacebody";
  api.fail_after = 1;  // the second chunk is refused
  connect(f, ctx, api);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::tempfail);
  CHECK(api.of("delrcpt").empty());
  REQUIRE(api.of("setreply").size() == 1);
  CHECK(api.of("setreply")[0].name == "451");
}

TEST_CASE("filter: a body that cannot be buffered (full disk) tempfails at eom", "[filter]") {
  TempDir dir;
  // memory limit 0: the first byte goes to a spool file, in a directory that does not exist.
  const std::string json = R"({"spool": {"directory": ")" + dir.path("missing/spool") +
                           R"(", "memory_limit": "0"}, "outbound": {"default_profile": "none"}})";
  LiveConfig live(std::make_shared<const conf::Config>(conf::parse(json, "test")));
  FakePipeline pipe;
  StoreHolder store(dir);
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  connect(f, ctx, api);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"some body\r\n", "more\r\n"}) ==
        CallbackStatus::tempfail);
  CHECK(pipe.seen.empty());
  CHECK_FALSE(api.modified());
  REQUIRE(api.of("setreply").size() == 1);
  CHECK(api.of("setreply")[0].name == "451");
  CHECK(ctx.message() == nullptr);
}

TEST_CASE("filter: an unavailable keystore takes the keystore failure action", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));  // keystore.db is not created: open with create=false fails
  FakePipeline pipe;
  Filter f(live, pipe.processor());  // the real, lazily opened store
  ConnectionContext ctx;
  RecordingApi api;
  connect(f, ctx, api);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::tempfail);
  CHECK(pipe.seen.empty());
  CHECK_FALSE(api.modified());
}

TEST_CASE("filter: a message keeps the configuration snapshot it started with", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone, "old"));
  FakePipeline pipe;
  StoreHolder store(dir);
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  connect(f, ctx, api);
  REQUIRE(f.on_envfrom(ctx, api, {"<a@example.com>"}) == CallbackStatus::continue_);
  REQUIRE(f.on_envrcpt(ctx, api, {"<b@example.org>"}) == CallbackStatus::continue_);
  live.set(make_config(dir, kNone, "new"));  // SIGHUP in the middle of the message
  REQUIRE(f.on_eoh(ctx, api) == CallbackStatus::continue_);
  REQUIRE(f.on_eom(ctx, api) == CallbackStatus::continue_);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::continue_);
  CHECK(pipe.origins == std::vector<std::string>{"old", "new"});
}

TEST_CASE("filter: the split copy is delivered before any change; a failure tempfails", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  FakePipeline pipe;
  pipe.verdict.header_edits = {{HeaderEdit::Kind::add, "X-A", 1, "1"}};
  pipe.verdict.remove_recipients = {"plain@example.org"};
  pipe.verdict.split = milter::SplitCopy{
      "a@example.com", {"plain@example.org"}, smime::Source::from_string("Subject: x\r\n\r\nbody\r\n")};
  StoreHolder store(dir);
  RecordingApi api;
  std::size_t calls_at_delivery = 99;
  bool fail = false;
  std::vector<std::string> delivered_to;
  Filter f(live, pipe.processor(), store.opener(), [&](const conf::Config&, const milter::SplitCopy& copy) {
    calls_at_delivery = api.calls.size();
    if (fail) throw milter::SmtpError("connect 127.0.0.1:10026: Connection refused");
    delivered_to = copy.recipients;
  });
  ConnectionContext ctx;
  connect(f, ctx, api);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org", "plain@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::continue_);
  CHECK(calls_at_delivery == 0);
  CHECK(delivered_to == std::vector<std::string>{"plain@example.org"});
  CHECK(api.of("delrcpt").size() == 1);

  fail = true;
  RecordingApi api2;
  CHECK(send(f, ctx, api2, "a@example.com", {"b@example.org", "plain@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::tempfail);
  CHECK_FALSE(api2.modified());
}

TEST_CASE("filter: an exception in the pipeline takes the internal failure action", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  StoreHolder store(dir);
  Filter f(
      live, [](milter::Job&) -> Verdict { throw std::runtime_error("boom"); }, store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  connect(f, ctx, api);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::tempfail);
  CHECK(ctx.message() == nullptr);
  CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
        CallbackStatus::tempfail);
}

TEST_CASE("filter: a real signing run through the pipeline", "[filter][pki]") {
  TempDir dir;
  {
    auto store = keystore::open_sqlite_store(dir.path("keystore.db"));
    std::vector<smime::X509Ptr> chain;
    chain.push_back(test::cert("inter"));
    keystore::put_identity(*store, test::cert("gw-new").get(), test::key("gw-new").get(), chain, "",
                           std::time(nullptr));
  }
  LiveConfig live(make_config(dir, kSign, "test", "1K"));  // a spooled body
  Filter f(live);                                          // the real pipeline and the connection's own store
  ConnectionContext ctx;
  RecordingApi api;
  api.set_symbol("i", "SIGNQ");
  connect(f, ctx, api);
  std::string body;
  for (int i = 0; i < 200; ++i) body += "line " + std::to_string(i) + " of the body\r\n";
  for (int round = 0; round < 2; ++round) {  // the second message on the connection alike
    RecordingApi& a = api;
    a.calls.clear();
    CHECK(send(f, ctx, a, "user@example.com", {"bob@example.org"}, kHeaders,
               {body.substr(0, 1000), body.substr(1000)}) == CallbackStatus::continue_);
    std::string new_body = a.body();
    CHECK(new_body.find("application/pkcs7-signature") != std::string::npos);
    CHECK(new_body.find("line 199 of the body") != std::string::npos);
    bool content_type_changed = false;
    for (const auto& c : a.calls) {
      if ((c.what == "chgheader" || c.what == "addheader") && c.name == "Content-Type" &&
          c.value.find("multipart/signed") != std::string::npos)
        content_type_changed = true;
    }
    CHECK(content_type_changed);
  }
}

TEST_CASE("smtp client: delivers with dot-stuffing and CRLF line ends", "[smtp]") {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(listener, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const auto port = ntohs(addr.sin_port);

  std::string transcript;
  std::string reject_rcpt;
  auto serve = [&] {
    int c = accept(listener, nullptr, nullptr);
    if (c < 0) return;
    auto say = [&](const std::string& s) { (void)::write(c, s.data(), s.size()); };
    say("220 test ESMTP\r\n");
    std::string buf;
    bool in_data = false;
    char tmp[4096];
    for (;;) {
      ssize_t n = ::read(c, tmp, sizeof tmp);
      if (n <= 0) break;
      buf.append(tmp, static_cast<std::size_t>(n));
      std::size_t eol;
      while ((eol = buf.find("\r\n")) != std::string::npos) {
        std::string line = buf.substr(0, eol);
        buf.erase(0, eol + 2);
        transcript += line + "\n";
        if (in_data) {
          if (line == ".") {
            in_data = false;
            say("250 2.0.0 queued\r\n");
          }
          continue;
        }
        if (line.rfind("EHLO", 0) == 0)
          say("250-test\r\n250 8BITMIME\r\n");
        else if (line == "DATA") {
          say("354 go\r\n");
          in_data = true;
        } else if (line == "QUIT") {
          say("221 bye\r\n");
          ::close(c);
          return;
        } else if (!reject_rcpt.empty() && line.find(reject_rcpt) != std::string::npos)
          say("550 5.1.1 no\r\n");
        else
          say("250 ok\r\n");
      }
    }
    ::close(c);
  };

  milter::SmtpTarget target{"127.0.0.1", port, std::chrono::seconds(5), "gw.test"};
  {
    std::thread t(serve);
    milter::smtp_send(target, "a@example.com", {"b@example.org", "c@example.org"},
                      smime::Source::from_string("Subject: x\n\n.leading dot\n..two\nlast"));
    t.join();
    CHECK(transcript ==
          "EHLO gw.test\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nRCPT TO:<c@example.org>\nDATA\n"
          "Subject: x\n\n..leading dot\n...two\nlast\n.\nQUIT\n");
  }
  {
    transcript.clear();
    reject_rcpt = "c@example.org";
    std::thread t(serve);
    CHECK_THROWS_AS(milter::smtp_send(target, "a@example.com", {"b@example.org", "c@example.org"},
                                      smime::Source::from_string("Subject: x\r\n\r\nbody\r\n")),
                    milter::SmtpError);
    t.join();
  }
  ::close(listener);
  // Nothing listening: a connection error, not a hang.
  CHECK_THROWS_AS(
      milter::smtp_send(target, "a@example.com", {"b@example.org"}, smime::Source::from_string("x\r\n")),
      milter::SmtpError);
}

TEST_CASE("filter: quarantine comes after the other changes, and a refused one tempfails", "[filter]") {
  TempDir dir;
  LiveConfig live(make_config(dir, kNone));
  StoreHolder store(dir);
  FakePipeline pipe;
  pipe.verdict.header_edits = {
      {HeaderEdit::Kind::insert_first, "Authentication-Results", 1, "mx; smime=fail"}};
  pipe.verdict.new_body = smime::Source::from_string("new\r\n");
  pipe.verdict.quarantine = "smime=fail: bad signature";
  {
    Filter f(live, pipe.processor(), store.opener());
    ConnectionContext ctx;
    RecordingApi api;
    connect(f, ctx, api);
    CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
          CallbackStatus::continue_);
    REQUIRE(api.of("quarantine").size() == 1);
    CHECK(api.of("quarantine")[0].value == "smime=fail: bad signature");
    CHECK(api.calls.back().what == "quarantine");
    CHECK(api.of("insheader").size() == 1);
    CHECK(api.body() == "new\r\n");
  }
  {
    Filter f(live, pipe.processor(), store.opener());
    ConnectionContext ctx;
    RecordingApi api;
    api.fail_on = "quarantine";
    connect(f, ctx, api);
    CHECK(send(f, ctx, api, "a@example.com", {"b@example.org"}, kHeaders, {"x\r\n"}) ==
          CallbackStatus::tempfail);
  }
}

TEST_CASE("filter: an inbound message accepted unprocessed loses forged results and says temperror",
          "[filter]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path("spool"));
  const std::string json = R"({"spool": {"directory": ")" + dir.path("spool") +
                           R"(", "memory_limit": "16K"}, "limits": {"max_message_size": "64K"},
      "failure_actions": {"bad_input": "accept"}, "direction": {"internal_networks": ["10.0.0.0/8"]},
      "inbound": {"authserv_id": "mx.test"}, "revocation": {"enabled": false}})";
  LiveConfig live(std::make_shared<const conf::Config>(conf::parse(json, "test")));
  StoreHolder store(dir);
  FakePipeline pipe;
  Filter f(live, pipe.processor(), store.opener());
  ConnectionContext ctx;
  RecordingApi api;
  connect(f, ctx, api);  // 127.0.0.1: outside here
  auto headers = kHeaders;
  headers.push_back({"Authentication-Results", " mx.test; smime=pass body.smime-identifier=ceo@example.com"});
  headers.push_back({"Authentication-Results", " other.test; spf=pass"});
  const std::string chunk(32 * 1024, 'x');
  CHECK(send(f, ctx, api, "ceo@example.com", {"b@example.org"}, headers, {chunk, chunk, chunk}) ==
        CallbackStatus::continue_);
  CHECK(pipe.seen.empty());  // too large: the pipeline never ran
  // Our forged field (the first of two) deleted, the other authserv-id's kept, temperror prepended.
  const auto changes = api.of("chgheader");
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].name == "Authentication-Results");
  CHECK(changes[0].index == 1);
  CHECK(changes[0].value.empty());
  const auto inserted = api.of("insheader");
  REQUIRE(inserted.size() == 1);
  CHECK(inserted[0].value.find("mx.test; smime=temperror") != std::string::npos);
  CHECK(api.of("replacebody").empty());
}
