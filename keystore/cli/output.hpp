// Files smime-keystore writes (--out, --key-out): never through a symbolic link (O_NOFOLLOW: a link
// planted where the output goes cannot redirect it), with the mode of what they hold.
#pragma once

#include <optional>
#include <string>

namespace cli {

// A private key: a new file, mode 0600 whatever the umask; never overwrites. smime::Error(io) on failure.
void write_private_file(const std::string& path, const std::string& bytes);
// Public data (certificates, CSRs): mode 0644 (less if the umask says so), replacing an existing regular
// file; standard output when path is empty. smime::Error(io) on failure.
void write_public_output(const std::optional<std::string>& path, const std::string& bytes);

}  // namespace cli
