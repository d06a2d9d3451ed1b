// smime-tool: the S/MIME core on the command line. Reads and writes whole RFC 5322 messages, keeps
// routing headers outside and moves Content-* headers inside, as the milter does. Used by the interop
// tests and the benchmarks, and by administrators to check a certificate or a message by hand.
//
// Exit codes: 0 done; 1 verification did not succeed (classify: not S/MIME protection); 2 usage;
// 3 bad input; 4 wrong key; 5 other.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "smime/smime.hpp"

namespace {

constexpr int kExitOk = 0, kExitNotVerified = 1, kExitUsage = 2, kExitBadInput = 3, kExitWrongKey = 4,
              kExitFailure = 5;

const char kUsage[] =
    "usage: smime-tool COMMAND [options] IN [OUT]\n"
    "  sign          --cert F --key F [--chain F] [--opaque] [--pss] [--digest sha256|sha384|sha512] "
    "[--der]\n"
    "                IN OUT\n"
    "  encrypt       --to CERT... [--cipher auto|aes256-cbc|aes128-cbc|aes128-gcm|aes256-gcm] [--oaep] "
    "[--der]\n"
    "                IN OUT\n"
    "  sign-encrypt  (sign and encrypt options) IN OUT\n"
    "  triple        (sign and encrypt options) IN OUT\n"
    "  decrypt       --cert F --key F [--cert F --key F ...] IN OUT\n"
    "  verify        --ca F... [--certs F] [--sha1 refuse|accept] [--min-security-bits N] IN [OUT]\n"
    "                (OUT written only when valid)\n"
    "  classify      IN   (what the message is, and whether it really is S/MIME protection)\n"
    "  canonicalize  IN OUT\n"
    "IN and OUT are files; - is standard input or output. Reports go to standard error.\n"
    "--der writes DER with definite lengths (content held in memory) instead of streamed BER.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string command;
  std::multimap<std::string, std::string> options;  // --name value (flags map to "")
  std::vector<std::string> positional;

  bool flag(const std::string& name) const { return options.count(name) > 0; }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [it, end] = options.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
  }
  std::optional<std::string> one(const std::string& name) const {
    auto v = all(name);
    if (v.size() > 1) throw UsageError("--" + name + " given more than once");
    if (v.empty()) return std::nullopt;
    return v.front();
  }
  std::string required(const std::string& name) const {
    auto v = one(name);
    if (!v) throw UsageError("--" + name + " is required");
    return *v;
  }
};

const std::vector<std::string> kFlags = {"opaque", "pss", "oaep", "der"};

Args parse_args(int argc, char** argv) {
  if (argc < 2) throw UsageError("no command");
  Args a;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2);
      bool is_flag = std::find(kFlags.begin(), kFlags.end(), name) != kFlags.end();
      if (is_flag) {
        a.options.emplace(name, "");
      } else {
        if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
        a.options.emplace(name, argv[++i]);
      }
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

// Writes to a file descriptor (standard output).
class FdSink final : public smime::Sink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  void write(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) throw smime::Error(smime::ErrorKind::io, "cannot write to standard output");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
};

smime::Source open_input(const std::string& path) {
  if (path != "-") return smime::Source::from_file(path);
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return smime::Source::from_string(std::move(all));
}

std::unique_ptr<smime::Sink> open_output(const std::string& path) {
  if (path == "-") return std::make_unique<FdSink>(STDOUT_FILENO);
  return std::make_unique<smime::FileSink>(path);
}

std::vector<smime::X509Ptr> certs_from(const std::string& path) {
  return smime::load_certificates(smime::read_file(path));
}

smime::SigningIdentity signing_identity(const Args& a) {
  smime::SigningIdentity id;
  id.cert = smime::load_certificate(smime::read_file(a.required("cert")));
  id.key = smime::load_private_key(smime::read_file(a.required("key")));
  if (auto chain = a.one("chain")) id.chain = certs_from(*chain);
  return id;
}

smime::SignOptions sign_options(const Args& a) {
  smime::SignOptions o;
  o.mode = a.flag("opaque") ? smime::SignMode::opaque : smime::SignMode::detached;
  o.rsa_padding = a.flag("pss") ? smime::RsaSignaturePadding::pss : smime::RsaSignaturePadding::pkcs1v15;
  o.der = a.flag("der");
  if (auto d = a.one("digest")) {
    auto digest = smime::digest_from_string(*d);
    if (!digest) throw UsageError("unknown digest " + *d);
    o.digest = *digest;
  }
  return o;
}

std::vector<smime::Recipient> recipients(const Args& a) {
  std::vector<smime::Recipient> out;
  for (const auto& path : a.all("to")) {
    for (auto& cert : certs_from(path)) {
      smime::Recipient r;
      r.cert = std::move(cert);
      r.rsa_padding = a.flag("oaep") ? smime::RsaKeyTransport::oaep : smime::RsaKeyTransport::pkcs1v15;
      out.push_back(std::move(r));
    }
  }
  if (out.empty()) throw UsageError("--to is required");
  return out;
}

smime::EncryptOptions encrypt_options(const Args& a) {
  smime::EncryptOptions o;
  o.der = a.flag("der");
  if (auto c = a.one("cipher"); c && *c != "auto") {
    o.cipher = smime::cipher_from_string(*c);
    if (!o.cipher) throw UsageError("unknown cipher " + *c);
  }
  return o;
}

// The outer message: routing headers, MIME-Version, then the new entity (its headers and body).
void write_message_head(const smime::mime::HeaderList& outer, smime::Sink& out) {
  smime::mime::write_headers(outer, out);
  out.write("MIME-Version: 1.0\r\n");
}

struct Message {
  smime::Source src;
  smime::mime::Entity root;
  smime::mime::SplitHeaders headers;
  smime::mime::Entity content;  // the root body under its Content-* headers only
};

Message read_message(const std::string& path) {
  smime::Source src = open_input(path);
  smime::mime::Entity root = smime::mime::parse(src, src.all());
  smime::mime::SplitHeaders split = smime::mime::split_content_headers(root.headers);
  smime::mime::Entity content = smime::mime::parse_body(src, root.body, split.content);
  return Message{src, std::move(root), std::move(split), std::move(content)};
}

void need_positional(const Args& a, std::size_t min, std::size_t max) {
  if (a.positional.size() < min || a.positional.size() > max)
    throw UsageError("wrong number of file arguments");
}

int run_protect(const Args& a) {
  need_positional(a, 2, 2);
  Message m = read_message(a.positional[0]);
  auto out = open_output(a.positional[1]);
  write_message_head(m.headers.outer, *out);
  const std::string& cmd = a.command;
  if (cmd == "sign") {
    smime::sign(m.src, m.content, signing_identity(a), sign_options(a), *out);
  } else if (cmd == "encrypt") {
    auto c = smime::encrypt(m.src, m.content, recipients(a), encrypt_options(a), *out);
    std::cerr << "encrypted cipher=" << smime::to_string(c) << "\n";
  } else if (cmd == "sign-encrypt") {
    auto c = smime::sign_encrypt(m.src, m.content, signing_identity(a), sign_options(a), recipients(a),
                                 encrypt_options(a), *out);
    std::cerr << "encrypted cipher=" << smime::to_string(c) << "\n";
  } else {
    smime::SignOptions inner = sign_options(a);
    inner.mode = smime::SignMode::detached;
    auto c = smime::triple_wrap(m.src, m.content, signing_identity(a), inner, recipients(a),
                                encrypt_options(a), sign_options(a), *out);
    std::cerr << "encrypted cipher=" << smime::to_string(c) << "\n";
  }
  return kExitOk;
}

int run_decrypt(const Args& a) {
  need_positional(a, 2, 2);
  auto certs = a.all("cert");
  auto keys = a.all("key");
  if (certs.empty() || certs.size() != keys.size()) throw UsageError("give --cert and --key in pairs");
  std::vector<smime::DecryptionKey> dk;
  for (std::size_t i = 0; i < certs.size(); ++i)
    dk.push_back({smime::load_certificate(smime::read_file(certs[i])),
                  smime::load_private_key(smime::read_file(keys[i]))});
  Message m = read_message(a.positional[0]);
  smime::StringSink plain;  // not written out unless decryption (and the GCM tag) succeeded
  auto r = smime::decrypt(m.src, m.root, dk, plain);
  auto out = open_output(a.positional[1]);
  write_message_head(m.headers.outer, *out);
  out->write(plain.str());
  out->finish();
  std::cerr << "decrypted key-index=" << r.key_index << " cipher=" << r.cipher
            << " authenticated=" << (r.authenticated ? "yes" : "no") << "\n";
  return kExitOk;
}

int run_verify(const Args& a) {
  need_positional(a, 1, 2);
  smime::VerifyOptions opt;
  for (const auto& path : a.all("ca"))
    for (auto& c : certs_from(path)) opt.anchors.push_back(std::move(c));
  if (auto extra = a.one("certs")) opt.intermediates = certs_from(*extra);
  if (opt.anchors.empty()) throw UsageError("--ca is required");
  if (auto sha1 = a.one("sha1")) {
    auto p = smime::sha1_policy_from_string(*sha1);
    if (!p) throw UsageError("--sha1 takes refuse or accept");
    opt.algorithms.sha1 = *p;
  }
  if (auto bits = a.one("min-security-bits")) {
    try {
      opt.algorithms.min_security_bits = std::stoi(*bits);
    } catch (const std::exception&) {
      throw UsageError("--min-security-bits takes a number");
    }
  }
  Message m = read_message(a.positional[0]);
  smime::StringSink content;
  auto r = smime::verify(m.src, m.root, opt, &content);
  std::string signers;
  for (const auto& s : r.signers)
    for (const auto& e : s.emails) signers += (signers.empty() ? "" : ",") + e;
  std::cerr << "verify status=" << smime::to_string(r.status) << " detached=" << (r.detached ? "yes" : "no")
            << " signers=" << signers << " reason=\"" << r.reason << "\"\n";
  for (const auto& s : r.signers)
    std::cerr << "signer email=" << (s.emails.empty() ? "-" : s.emails.front())
              << " status=" << smime::to_string(s.status) << " digest=" << s.digest
              << " signature=" << s.signature_algorithm
              << " chain=" << (s.chain_ok ? "ok" : "\"" + s.chain_error + "\"")
              << " signing-time=" << (s.signing_time ? std::to_string(*s.signing_time) : "-")
              << " gcm=" << (s.capabilities.best_aead() ? "yes" : "no") << " reason=\"" << s.reason << "\"\n";
  if (a.positional.size() == 2 && r.ok()) {  // content that did not verify is not handed on
    auto out = open_output(a.positional[1]);
    write_message_head(m.headers.outer, *out);
    out->write(content.str());
    out->finish();
  }
  return r.ok() ? kExitOk : kExitNotVerified;
}

// Exit 0 when the message is S/MIME protection (signed or encrypted), 1 otherwise.
int run_classify(const Args& a) {
  need_positional(a, 1, 1);
  Message m = read_message(a.positional[0]);
  const smime::Classification c = smime::classify(m.src, m.root);
  const smime::Protection p = smime::protection_of(m.src, m.root);
  std::cerr << "classify type=" << smime::to_string(c.type) << " protection=" << smime::to_string(p.level)
            << " reason=\"" << c.reason << "\" protection-reason=\"" << p.reason << "\"\n";
  return p.level == smime::ProtectionLevel::none ? kExitNotVerified : kExitOk;
}

int run_canonicalize(const Args& a) {
  need_positional(a, 2, 2);
  Message m = read_message(a.positional[0]);
  auto out = open_output(a.positional[1]);
  write_message_head(m.headers.outer, *out);
  smime::mime::write_canonical(m.src, m.content, *out);
  out->finish();
  return kExitOk;
}

int exit_code(smime::ErrorKind k) {
  switch (k) {
    case smime::ErrorKind::bad_input:
      return kExitBadInput;
    case smime::ErrorKind::wrong_key:
      return kExitWrongKey;
    case smime::ErrorKind::usage:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse_args(argc, argv);
    if (a.command == "sign" || a.command == "encrypt" || a.command == "sign-encrypt" || a.command == "triple")
      return run_protect(a);
    if (a.command == "decrypt") return run_decrypt(a);
    if (a.command == "verify") return run_verify(a);
    if (a.command == "canonicalize") return run_canonicalize(a);
    if (a.command == "classify") return run_classify(a);
    if (a.command == "--help" || a.command == "help") {
      std::cout << kUsage;
      return kExitOk;
    }
    throw UsageError("unknown command " + a.command);
  } catch (const UsageError& e) {
    std::cerr << "smime-tool: " << e.what() << "\n" << kUsage;
    return kExitUsage;
  } catch (const smime::Error& e) {
    std::cerr << "smime-tool: " << smime::to_string(e.kind()) << ": " << e.what() << "\n";
    return exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "smime-tool: " << e.what() << "\n";
    return kExitFailure;
  }
}
