// Passphrases from where administrators keep them: "env:VAR", "file:PATH" (first line), or "prompt"
// (the terminal, without echo). Never from the command line itself, where `ps` would show it.
#pragma once

#include <optional>
#include <string>

namespace cli {

// Reads a passphrase from source; UsageError for an unknown form or a missing variable or file.
std::string read_secret(const std::string& source, const std::string& prompt);
// The source given, else "prompt" when standard input is a terminal, else a UsageError naming option.
std::string secret_or_prompt(const std::optional<std::string>& source, const std::string& prompt,
                             const std::string& option);

}  // namespace cli
