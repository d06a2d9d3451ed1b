// Helpers of the smime unit tests that use independent tools and raw DER:
//  - TempDir and openssl(): runs the openssl command line (an implementation independent of our
//    signing and encryption code) in a private directory;
//  - Tlv: a small BER/DER tree to take messages made by such tools apart and change one field
//    (a signature byte, an algorithm OID), written back with definite lengths;
//  - has_indefinite_length(): whether BER uses any indefinite length (DER never does).
#pragma once

#include <fcntl.h>
#include <openssl/objects.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "smime/smime.hpp"

namespace test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "smime-unit.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  void write(const std::string& name, const std::string& bytes) const {
    smime::FileSink f(file(name));
    f.write(bytes);
    f.finish();
  }
  std::string read(const std::string& name) const { return smime::read_file(file(name)); }

 private:
  std::filesystem::path path_;
};

// Runs `openssl ARGS...` in dir (standard output and error into dir/openssl.log); throws with the
// log when it fails, so a test never goes on with a message that was not made.
inline void openssl(const TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  const std::string log = dir.file("openssl.log");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (::chdir(dir.file("").c_str()) != 0) ::_exit(126);
    ::execvp(raw[0], raw.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("failed: " + cmd + "\n" + smime::read_file(log));
  }
}

// ---- BER/DER trees ----

struct Tlv {
  std::string ident;          // identifier octets
  std::string content;        // primitive encodings
  std::vector<Tlv> children;  // constructed encodings

  bool constructed() const { return !ident.empty() && (static_cast<unsigned char>(ident[0]) & 0x20) != 0; }
  unsigned char tag() const { return ident.empty() ? 0 : static_cast<unsigned char>(ident[0]); }

  // Definite lengths throughout.
  std::string encode() const {
    std::string body;
    if (constructed())
      for (const auto& c : children) body += c.encode();
    else
      body = content;
    std::string len;
    if (body.size() < 0x80) {
      len.push_back(static_cast<char>(body.size()));
    } else {
      std::string n;
      for (std::size_t v = body.size(); v > 0; v >>= 8) n.insert(n.begin(), static_cast<char>(v & 0xFF));
      len.push_back(static_cast<char>(0x80 | n.size()));
      len += n;
    }
    return ident + len + body;
  }
  // The child with this identifier octet, the n-th of them.
  Tlv& child(unsigned char tag, int n = 0) {
    for (auto& c : children)
      if (c.tag() == tag && n-- == 0) return c;
    throw std::runtime_error("no such DER child");
  }
};

inline Tlv parse_tlv(std::string_view s, std::size_t& pos) {
  auto byte = [&](std::size_t i) {
    if (i >= s.size()) throw std::runtime_error("truncated BER");
    return static_cast<unsigned char>(s[i]);
  };
  Tlv t;
  const std::size_t start = pos;
  if ((byte(pos++) & 0x1F) == 0x1F)
    while (byte(pos++) & 0x80) {
    }
  t.ident = std::string(s.substr(start, pos - start));
  const unsigned char first = byte(pos++);
  if (first == 0x80) {  // indefinite: children up to end-of-contents
    while (!(byte(pos) == 0 && byte(pos + 1) == 0)) t.children.push_back(parse_tlv(s, pos));
    pos += 2;
    return t;
  }
  std::size_t len = first;
  if (first > 0x80) {
    len = 0;
    for (int i = 0; i < (first & 0x7F); ++i) len = (len << 8) | byte(pos++);
  }
  if (pos + len > s.size()) throw std::runtime_error("BER length beyond the end");
  if (t.constructed()) {
    const std::size_t end = pos + len;
    while (pos < end) t.children.push_back(parse_tlv(s, pos));
  } else {
    t.content = std::string(s.substr(pos, len));
    pos += len;
  }
  return t;
}
inline Tlv parse_der(std::string_view der) {
  std::size_t pos = 0;
  return parse_tlv(der, pos);
}

inline Tlv der_oid(const std::string& dotted) {
  smime::Asn1ObjectPtr obj(OBJ_txt2obj(dotted.c_str(), 1));
  if (!obj) throw std::runtime_error("bad OID " + dotted);
  unsigned char* der = nullptr;
  int n = i2d_ASN1_OBJECT(obj.get(), &der);
  smime::OsslStringPtr owned(reinterpret_cast<char*>(der));
  return parse_der(std::string(owned.get(), static_cast<std::size_t>(n)));
}

// Any indefinite length anywhere in the encoding (DER has none); constructed encodings are walked
// into, primitive contents skipped. Throws on BER that runs past its end.
inline bool has_indefinite_length(std::string_view s, std::size_t pos = 0,
                                  std::size_t end = std::string::npos) {
  end = std::min(end, s.size());
  auto byte = [&](std::size_t i) {
    if (i >= end) throw std::runtime_error("truncated BER");
    return static_cast<unsigned char>(s[i]);
  };
  while (pos < end) {
    const bool constructed = (byte(pos) & 0x20) != 0;
    if ((byte(pos++) & 0x1F) == 0x1F)
      while (byte(pos++) & 0x80) {
      }
    const unsigned char first = byte(pos++);
    if (first == 0x80) return true;
    std::size_t len = first;
    if (first > 0x80) {
      len = 0;
      for (int i = 0; i < (first & 0x7F); ++i) len = (len << 8) | byte(pos++);
    }
    if (len > end - pos) throw std::runtime_error("BER length beyond the end");
    if (constructed && has_indefinite_length(s, pos, pos + len)) return true;
    pos += len;
  }
  return false;
}

// The DER of an application/pkcs7-mime message or entity (its base64 body).
inline std::string p7m_der(const std::string& text) {
  smime::Source src = smime::Source::from_string(text);
  smime::mime::Entity e = smime::mime::parse(src, src.all());
  return smime::pkcs7_mime_der(src, e);
}

}  // namespace test
