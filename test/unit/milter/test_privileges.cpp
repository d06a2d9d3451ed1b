// The account switch (privileges.hpp), for real: a child process started as root switches to nobody and
// reads back its /proc/self/status; and the permission arithmetic the start-up checks rely on.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "milter/privileges.hpp"

namespace {

namespace priv = milter::privileges;

std::string status_line(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  return {};
}

// The fields of "Uid:\t65534\t65534\t65534\t65534" as one string "65534 65534 65534 65534".
std::string words(const std::string& value) {
  std::istringstream in(value);
  std::string w, out;
  while (in >> w) out += (out.empty() ? "" : " ") + w;
  return out;
}

// Runs `body` in a child process; its exit status (0: every expectation held, else the number of the
// first that failed), or -1 when it died.
int in_child(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    int rc = 99;
    try {
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      rc = 98;
    }
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct stat with_mode(mode_t mode, uid_t uid, gid_t gid) {
  struct stat st {};
  st.st_mode = mode;
  st.st_uid = uid;
  st.st_gid = gid;
  return st;
}

}  // namespace

TEST_CASE("privileges: root switches to nobody with no capability left", "[privileges]") {
  if (geteuid() != 0) {
    WARN("needs root");
    return;
  }
  const priv::Account target = priv::lookup_account("nobody");
  const std::string ids = std::to_string(target.uid);
  const std::string gids = std::to_string(target.gid);
  const int rc = in_child([&] {
    priv::switch_to(target);
    if (words(status_line("Uid")) != ids + " " + ids + " " + ids + " " + ids) return 1;
    if (words(status_line("Gid")) != gids + " " + gids + " " + gids + " " + gids) return 2;
    if (words(status_line("CapEff")) != "0000000000000000") return 3;
    if (words(status_line("CapPrm")) != "0000000000000000") return 4;
    if (words(status_line("CapAmb")) != "0000000000000000") return 5;
    if (words(status_line("CapBnd")) != "0000000000000000") return 6;  // emptied while still root
    if (words(status_line("NoNewPrivs")) != "1") return 7;
    if (setuid(0) == 0) return 8;
    // supplementary groups are nobody's own (none but its group), not root's
    for (gid_t g : target.groups)
      if (words(status_line("Groups")).find(std::to_string(g)) == std::string::npos) return 9;
    if (words(status_line("Groups")).find(" 0") != std::string::npos || words(status_line("Groups")) == "0")
      return 10;
    return 0;
  });
  CHECK(rc == 0);
}

TEST_CASE("privileges: the switch refuses a process with threads", "[privileges]") {
  if (geteuid() != 0) {
    WARN("needs root");
    return;
  }
  const priv::Account target = priv::lookup_account("nobody");
  const int rc = in_child([&] {
    bool stop = false;
    std::thread t([&] {
      while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) std::this_thread::yield();
    });
    int result = 1;
    try {
      priv::switch_to(target);
    } catch (const priv::PrivilegeError& e) {
      result = std::string(e.what()).find("threads") != std::string::npos && getuid() == 0 ? 0 : 2;
    }
    __atomic_store_n(&stop, true, __ATOMIC_SEQ_CST);
    t.join();
    return result;
  });
  CHECK(rc == 0);
}

TEST_CASE("privileges: accounts by name, by USER:GROUP, unknown ones", "[privileges]") {
  const priv::Account nobody = priv::lookup_account("nobody");
  CHECK(nobody.name == "nobody");
  CHECK(nobody.uid == 65534);
  const priv::Account with_group = priv::parse_account("nobody:root");
  CHECK(with_group.uid == nobody.uid);
  CHECK(with_group.gid == 0);
  CHECK(with_group.group_name == "root");
  CHECK_THROWS_WITH(priv::lookup_account("no-such-user-here"),
                    Catch::Contains("no user 'no-such-user-here'"));
  CHECK_THROWS_WITH(priv::parse_account("nobody:no-such-group-here"),
                    Catch::Contains("no group 'no-such-group-here'"));
}

TEST_CASE("privileges: the plan: switch only from root, and only to another account", "[privileges]") {
  const priv::Account root{"root", 0, 0, "root", {0}};
  const priv::Account nobody = priv::lookup_account("nobody");
  CHECK(priv::plan_for(root, &nobody).switch_user);
  CHECK_FALSE(priv::plan_for(root, nullptr).switch_user);
  CHECK(priv::plan_for(root, nullptr).target.is_root());
  CHECK_FALSE(priv::plan_for(nobody, &nobody).switch_user);  // started as the service account (User=)
  const priv::Account other{"other", 4242, 4242, "other", {4242}};
  CHECK_THROWS_WITH(priv::plan_for(other, &nobody), Catch::Contains("start it as root or as that user"));
}

TEST_CASE("privileges: may_access follows owner, group, other", "[privileges]") {
  const priv::Account a{"a", 1000, 1000, "a", {1000, 2000}};
  // want: R_OK, W_OK, X_OK
  CHECK(priv::may_access(with_mode(S_IFDIR | 0700, 1000, 0), a, W_OK | X_OK));
  CHECK_FALSE(priv::may_access(with_mode(S_IFDIR | 0070, 1000, 1000), a, X_OK));  // owner bits decide
  CHECK(priv::may_access(with_mode(S_IFDIR | 0750, 0, 2000), a, R_OK | X_OK));    // supplementary group
  CHECK_FALSE(priv::may_access(with_mode(S_IFDIR | 0750, 0, 2000), a, W_OK));
  CHECK(priv::may_access(with_mode(S_IFDIR | 0711, 0, 0), a, X_OK));
  CHECK_FALSE(priv::may_access(with_mode(S_IFDIR | 0710, 0, 0), a, X_OK));
  const priv::Account root{"root", 0, 0, "root", {0}};
  CHECK(priv::may_access(with_mode(S_IFREG | 0000, 1000, 1000), root, R_OK | W_OK));
  CHECK_FALSE(priv::may_access(with_mode(S_IFREG | 0600, 1000, 1000), root, X_OK));
}
