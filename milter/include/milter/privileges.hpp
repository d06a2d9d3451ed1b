// The account the daemon runs as, and the switch to it after start-up.
//
// Started as root, the daemon opens what needs root (its socket) and then switch_to() the configured
// account: supplementary groups (the user's, as initgroups), group, user, real, effective and saved ids
// alike; then it verifies that the switch took (ids, setuid(0) refused) and that no capability is left
// (CapEff, CapPrm, CapAmb of /proc/self/status all 0), and sets no_new_privs. Started as that account
// (systemd's User=), the same code finds nothing to switch.
//
// Contract: switch_to() must run while the process has one thread (Linux applies setuid per thread;
// glibc's broadcast to other threads is not relied on): it refuses (throws) otherwise. Every failure
// throws PrivilegeError with a message that names the account and what to do.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace milter::privileges {

class PrivilegeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Account {
  std::string name;  // the user name ("uid N" when the passwd database has none)
  uid_t uid = 0;
  gid_t gid = 0;              // the primary group
  std::string group_name;     // its name ("gid N" when the group database has none)
  std::vector<gid_t> groups;  // supplementary groups, the primary one included

  bool is_root() const { return uid == 0; }
  bool in_group(gid_t g) const;
};

// The account of USER (a name or a number) with GROUP (a name or number; empty: the user's primary group)
// and the user's supplementary groups. Throws PrivilegeError for an unknown user or group.
Account lookup_account(std::string_view user, std::string_view group = {});
// A group by name or number. Throws PrivilegeError for an unknown name.
gid_t lookup_group(std::string_view group);
// The group's name, or "gid N" when the group database has none.
std::string group_name(gid_t gid);
// "USER" or "USER:GROUP" (the -u option).
Account parse_account(std::string_view user_and_group);
// This process's real user and group and its supplementary groups.
Account current_account();

// Who the daemon runs as after start-up: `wanted` (daemon.user / -u) when given, else the account it was
// started as. Throws PrivilegeError when the switch is impossible (not started as root, and `wanted` is
// another account).
struct Plan {
  Account target;
  bool switch_user = false;  // started as root and target is another account
};
Plan plan_for(const Account& started_as, const Account* wanted);

// Switches to `target` (see the file comment). Throws PrivilegeError.
void switch_to(const Account& target);

// The capability sets of this process (hex fields of /proc/self/status).
struct Capabilities {
  std::uint64_t effective = 0;
  std::uint64_t permitted = 0;
  std::uint64_t ambient = 0;
  std::uint64_t bounding = 0;
};
Capabilities current_capabilities();
// The number of threads of this process (/proc/self/status).
unsigned current_threads();

// Whether `account` may access a file with this stat: `want` is a mask of R_OK, W_OK, X_OK, checked
// against the owner bits, else the group bits (primary or supplementary group), else the other bits,
// as the kernel does without ACLs. Root may read and write anything, and execute or search when any x
// bit is set.
bool may_access(const struct stat& st, const Account& account, int want);

}  // namespace milter::privileges
