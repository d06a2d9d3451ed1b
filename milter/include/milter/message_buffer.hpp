// The body of one message as the MTA hands it over in chunks: kept in memory up to a limit, then
// moved to an anonymous spool file (SpoolFile) and appended there, so a 100 MB message costs a file,
// not memory. finish() hands the whole body on as a Source, without copying it.
//
// Owned by the per-message context: a new message gets a new buffer, so nothing survives into the
// next message on the connection.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "milter/spool_file.hpp"
#include "smime/io.hpp"

namespace milter {

class MessageBuffer {
 public:
  MessageBuffer(std::filesystem::path spool_directory, std::uint64_t memory_limit)
      : directory_(std::move(spool_directory)), memory_limit_(memory_limit) {}

  // Throws smime::Error(io) when the spool file cannot be created or written (a full disk).
  void append(std::string_view chunk);
  std::uint64_t size() const { return size_; }
  bool spooled() const { return spool_ != nullptr; }
  // The body so far. The buffer is consumed: call once, when the body is complete.
  smime::Source finish();

 private:
  std::filesystem::path directory_;
  std::uint64_t memory_limit_;
  std::uint64_t size_ = 0;
  std::string memory_;
  std::unique_ptr<SpoolFile> spool_;
};

}  // namespace milter
