// An anonymous file in the spool directory: created unlinked (O_TMPFILE, or mkstemp then unlink where
// the file system lacks it), mode 0600, so nothing is left behind by a crash and no other process
// can open it by name. Written through sink(), read back through source().
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "smime/io.hpp"

namespace milter {

class SpoolFile {
 public:
  explicit SpoolFile(const std::filesystem::path& directory);  // throws smime::Error(io)
  ~SpoolFile();
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;

  smime::Sink& sink() { return *sink_; }
  // The bytes written so far (call sink().finish() first); the Source keeps the file alive.
  smime::Source source() const;
  const std::string& name() const { return name_; }  // for messages: "<dir>/(anonymous)"

 private:
  int fd_ = -1;
  std::string name_;
  std::unique_ptr<smime::FileSink> sink_;
};

}  // namespace milter
