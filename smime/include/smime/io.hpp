// Bytes in, bytes out: the two ends every operation of the core reads from and writes to.
//
// A Source is seekable, read-only bytes: a string held in memory, or a file read with pread (the
// milter's spool file), so a 100 MB body is never loaded whole. A Sink receives bytes in order:
// a string, a file (write errors such as a full disk throw Error(io)), or a filter in front of
// another sink. BIO adapters let OpenSSL stream from a Source range and into a Sink.
#pragma once

#include <openssl/bio.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "smime/ossl.hpp"

namespace smime {

struct Range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t end() const { return offset + length; }
};

class Source {
 public:
  static Source from_string(std::string bytes);
  static Source from_file(const std::filesystem::path& path);  // throws Error(io)
  // Reads an open file (e.g. an unlinked spool file); the Source keeps its own duplicate of fd.
  static Source from_fd(int fd, const std::string& name);  // throws Error(io)

  std::uint64_t size() const;
  Range all() const { return Range{0, size()}; }
  // Reads up to len bytes at offset; returns the count (0 at the end). Throws Error(io).
  std::size_t read(std::uint64_t offset, char* buf, std::size_t len) const;
  // Reads a whole range into a string (for small ranges: headers, a signature part).
  std::string slice(Range r) const;

  class Impl;

 private:
  explicit Source(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // shared: a Source is cheap to copy
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::string_view bytes) = 0;
  // Pushes out anything buffered (a filter's pending line, a file's buffer). Idempotent.
  virtual void finish() {}
};

class StringSink final : public Sink {
 public:
  void write(std::string_view bytes) override { data_.append(bytes); }
  const std::string& str() const { return data_; }
  std::string take() { return std::move(data_); }
  void reserve(std::size_t n) { data_.reserve(n); }

 private:
  std::string data_;
};

// Writes to a file created (or truncated) with mode 0600; buffered; throws Error(io) on failure.
class FileSink final : public Sink {
 public:
  explicit FileSink(const std::filesystem::path& path);
  // Writes to an open file at its current offset (e.g. an unlinked spool file); keeps a duplicate of fd.
  FileSink(int fd, const std::string& name);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write(std::string_view bytes) override;
  void finish() override;  // flushes and fsyncs nothing: durability is the caller's choice

 private:
  void flush_buffer();
  int fd_ = -1;
  std::string path_;
  std::string buffer_;
};

// Base64 with CRLF line breaks every 76 characters (RFC 2045), as a filter in front of `next`.
class Base64Sink final : public Sink {
 public:
  explicit Base64Sink(Sink& next) : next_(next) {}
  void write(std::string_view bytes) override;
  void finish() override;

 private:
  Sink& next_;
  std::string pending_;  // < 57 bytes not yet encoded
};

// Copies every byte to two sinks (content written out while it is being digested).
class TeeSink final : public Sink {
 public:
  TeeSink(Sink& a, Sink& b) : a_(a), b_(b) {}
  void write(std::string_view bytes) override {
    a_.write(bytes);
    b_.write(bytes);
  }
  void finish() override {
    a_.finish();
    b_.finish();
  }

 private:
  Sink& a_;
  Sink& b_;
};

// Canonical line ends: bare LF becomes CRLF, existing CRLF is kept, a lone CR is kept.
class CrlfSink final : public Sink {
 public:
  explicit CrlfSink(Sink& next) : next_(next) {}
  void write(std::string_view bytes) override;
  void finish() override { next_.finish(); }

 private:
  Sink& next_;
  bool last_was_cr_ = false;
  std::string buffer_;  // reused for each write
};

// Streams a Source range into a sink in chunks.
void copy(const Source& src, Range r, Sink& out);

// A read-only BIO over a Source range. OpenSSL reads the bytes without a copy of the whole range.
// With to_crlf, bare LF line ends are read as CRLF (the canonical form signatures are made over).
BioPtr make_source_bio(const Source& src, Range r, bool to_crlf = false);

// A write-only BIO that forwards to a Sink. Exceptions thrown by the sink are kept and rethrown by
// rethrow_sink_error() after the OpenSSL call that wrote returns (never across OpenSSL's C frames).
BioPtr make_sink_bio(Sink& sink);
void rethrow_sink_error(BIO* sink_bio);

}  // namespace smime
