// See privileges.hpp.
#include "milter/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>

namespace milter::privileges {
namespace {

std::optional<unsigned long> number(std::string_view text) {
  unsigned long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// The user's groups as initgroups(3) would set them: the group database's members plus `primary`.
std::vector<gid_t> supplementary_groups(const std::string& user, gid_t primary, bool known_user) {
  std::vector<gid_t> groups{primary};
  if (!known_user) return groups;
  int n = 32;
  for (int attempt = 0; attempt < 4; ++attempt) {
    groups.assign(static_cast<std::size_t>(n), 0);
    int count = n;
    if (getgrouplist(user.c_str(), primary, groups.data(), &count) >= 0) {
      groups.resize(static_cast<std::size_t>(count));
      return groups;
    }
    n = std::max(count, n * 2);
  }
  throw PrivilegeError("cannot list the groups of user '" + user + "'");
}

std::string status_field(std::string_view key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ':') {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return {};
}

std::uint64_t hex_field(std::string_view key) {
  const std::string v = status_field(key);
  std::uint64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out, 16);
  return out;
}

[[noreturn]] void fail(const Account& target, std::string_view step) {
  throw PrivilegeError("cannot switch to user " + target.name + " (group " + target.group_name +
                       "): " + std::string(step) + ": " + std::strerror(errno));
}

// Empties the capability bounding set while we still may (root), so that nothing this process could
// ever exec regains a capability. Best effort: the checks below are what must hold.
void drop_bounding_set() {
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  // past the kernel's last capability
    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
}

void verify_switched(const Account& target) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  if (ruid != target.uid || euid != target.uid || suid != target.uid || rgid != target.gid ||
      egid != target.gid || sgid != target.gid)
    throw PrivilegeError("switching to user " + target.name + " did not take: the ids are not all " +
                         std::to_string(target.uid) + "/" + std::to_string(target.gid));
  if (!target.is_root() && setuid(0) == 0)
    throw PrivilegeError("switching to user " + target.name + " did not take: setuid(0) still works");
  const Capabilities caps = current_capabilities();
  if (!target.is_root() && (caps.effective != 0 || caps.permitted != 0 || caps.ambient != 0))
    throw PrivilegeError("user " + target.name + " still holds capabilities (CapEff " +
                         status_field("CapEff") + ", CapPrm " + status_field("CapPrm") + ")");
}

}  // namespace

gid_t lookup_group(std::string_view group) {
  const std::string name(group);
  if (const struct group* g = getgrnam(name.c_str())) return g->gr_gid;
  if (auto n = number(group)) return static_cast<gid_t>(*n);
  throw PrivilegeError("no group '" + name + "' (getent group " + name + ")");
}

std::string group_name(gid_t gid) {
  if (const struct group* g = getgrgid(gid)) return g->gr_name;
  return "gid " + std::to_string(gid);
}

bool Account::in_group(gid_t g) const {
  return g == gid || std::find(groups.begin(), groups.end(), g) != groups.end();
}

Account lookup_account(std::string_view user, std::string_view group) {
  Account a;
  const std::string name(user);
  bool known = false;
  if (const struct passwd* pw = getpwnam(name.c_str())) {
    a.name = pw->pw_name;
    a.uid = pw->pw_uid;
    a.gid = pw->pw_gid;
    known = true;
  } else if (auto n = number(user)) {
    a.uid = static_cast<uid_t>(*n);
    if (const struct passwd* byid = getpwuid(a.uid)) {
      a.name = byid->pw_name;
      a.gid = byid->pw_gid;
      known = true;
    } else {
      a.name = "uid " + name;
      if (group.empty())
        throw PrivilegeError("uid " + name + " has no passwd entry: give its group too (-u " + name +
                             ":GROUP or daemon.group)");
    }
  } else {
    throw PrivilegeError("no user '" + name + "' (getent passwd " + name +
                         "; the Debian package creates smime-milter)");
  }
  if (!group.empty()) a.gid = lookup_group(group);
  a.group_name = group_name(a.gid);
  a.groups = supplementary_groups(a.name, a.gid, known);
  return a;
}

Account parse_account(std::string_view user_and_group) {
  const std::size_t colon = user_and_group.find(':');
  if (colon == std::string_view::npos) return lookup_account(user_and_group);
  return lookup_account(user_and_group.substr(0, colon), user_and_group.substr(colon + 1));
}

Account current_account() {
  Account a;
  a.uid = getuid();
  a.gid = getgid();
  if (const struct passwd* pw = getpwuid(a.uid))
    a.name = pw->pw_name;
  else
    a.name = "uid " + std::to_string(a.uid);
  a.group_name = group_name(a.gid);
  const int n = getgroups(0, nullptr);
  a.groups.assign(static_cast<std::size_t>(std::max(n, 0)), 0);
  if (n > 0) a.groups.resize(static_cast<std::size_t>(std::max(getgroups(n, a.groups.data()), 0)));
  if (!a.in_group(a.gid)) a.groups.push_back(a.gid);
  return a;
}

Plan plan_for(const Account& started_as, const Account* wanted) {
  Plan plan;
  if (wanted == nullptr) {
    plan.target = started_as;
    return plan;
  }
  plan.target = *wanted;
  const bool same = wanted->uid == started_as.uid && wanted->gid == started_as.gid;
  if (started_as.is_root()) {
    plan.switch_user = !same;
  } else if (!same) {
    throw PrivilegeError("started as " + started_as.name + " (uid " + std::to_string(started_as.uid) +
                         "), which cannot switch to user " + wanted->name + " group " + wanted->group_name +
                         ": start it as root or as that user");
  }
  return plan;
}

void switch_to(const Account& target) {
  if (const unsigned threads = current_threads(); threads != 1)
    throw PrivilegeError("cannot switch to user " + target.name + ": the process already has " +
                         std::to_string(threads) + " threads (an internal ordering error)");
  if (geteuid() == 0) drop_bounding_set();
  if (setgroups(target.groups.size(), target.groups.data()) != 0) fail(target, "setgroups");
  if (setresgid(target.gid, target.gid, target.gid) != 0) fail(target, "setgid");
  if (setresuid(target.uid, target.uid, target.uid) != 0) fail(target, "setuid");
  verify_switched(target);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(target, "no_new_privs");
}

Capabilities current_capabilities() {
  Capabilities c;
  c.effective = hex_field("CapEff");
  c.permitted = hex_field("CapPrm");
  c.ambient = hex_field("CapAmb");
  c.bounding = hex_field("CapBnd");
  return c;
}

unsigned current_threads() {
  const std::string v = status_field("Threads");
  unsigned n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

bool may_access(const struct stat& st, const Account& account, int want) {
  if (account.is_root()) {
    if ((want & X_OK) == 0) return true;
    return S_ISDIR(st.st_mode) || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  }
  mode_t bits = 0;
  if (st.st_uid == account.uid)
    bits = (st.st_mode >> 6) & 7;
  else if (account.in_group(st.st_gid))
    bits = (st.st_mode >> 3) & 7;
  else
    bits = st.st_mode & 7;
  const mode_t wanted =
      static_cast<mode_t>(((want & R_OK) ? 4 : 0) | ((want & W_OK) ? 2 : 0) | ((want & X_OK) ? 1 : 0));
  return (bits & wanted) == wanted;
}

}  // namespace milter::privileges
