// fuzz-seed-tool: turns the S/MIME messages of make-seeds.sh into the other seed forms it needs.
//   binary IN OUT   the message with every base64 CMS part (application/pkcs7-mime, -signature)
//                   carried as Content-Transfer-Encoding: binary, so mutations hit the DER directly
//   der IN OUT      the DER of the message's first CMS part
//   filter-inbound|filter-outbound|filter-abort|filter-fake IN OUT
//                   a fuzz_filter program (filter_program.hpp) that sends the message through the
//                   callbacks as an MTA does: from an external client; from an authenticated local one,
//                   once for each outbound profile of the fuzz gateway; after a first message aborted
//                   half-way; with a fake verdict and a refused MTA call
// Exit codes: 0 done, 1 no CMS part found, 2 usage, 3 anything else.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "filter_program.hpp"
#include "smime/decrypt.hpp"
#include "smime/mime.hpp"

namespace {

using smime::mime::Entity;

bool is_cms(const Entity& e) {
  return e.is_leaf() && (e.content_type.is("application", "pkcs7-mime") ||
                         e.content_type.is("application", "x-pkcs7-mime") ||
                         e.content_type.is("application", "pkcs7-signature") ||
                         e.content_type.is("application", "x-pkcs7-signature"));
}

const Entity* first_cms(const Entity& e) {
  if (is_cms(e)) return &e;
  for (const Entity& child : e.children)
    if (const Entity* found = first_cms(child)) return found;
  return nullptr;
}

// Copies the source from `pos` to e's end, CMS leaves in base64 rewritten as binary.
void write_binary(const smime::Source& src, const Entity& e, std::uint64_t& pos, smime::Sink& out,
                  bool& found) {
  if (is_cms(e) && e.encoding == smime::mime::Encoding::base64) {
    smime::copy(src, smime::Range{pos, e.whole.offset - pos}, out);
    smime::mime::HeaderList headers = e.headers;
    headers.set("Content-Transfer-Encoding", "binary");
    smime::mime::write_headers(headers, out);
    out.write("\r\n");
    smime::mime::write_decoded_body(src, e, out);
    pos = e.whole.end();
    found = true;
    return;
  }
  for (const Entity& child : e.children) write_binary(src, child, pos, out, found);
}

namespace fp = fuzz::filter_program;

// From outside to the gateway's address, or (outbound) from the gateway's domain to recipients with
// certificates (bob, carol, dave@example.net under the domain certificate, the gateway's own address)
// and, but for sign-encrypt, one without.
void send_message(fp::Writer& w, const smime::Source& src, const Entity& root,
                  const char* outbound_profile = nullptr) {
  if (outbound_profile == nullptr) {
    w.op(fp::envfrom).strings({"<alice@example.org>", "SIZE=100"});
    w.op(fp::envrcpt).strings({"<gateway@example.com>"});
  } else {
    w.op(fp::envfrom).strings({"<gateway@example.com>"});
    for (const char* r :
         {"<bob@example.org>", "<carol@example.org>", "<dave@example.net>", "<gateway@example.com>"})
      w.op(fp::envrcpt).strings({r});
    // Without a certificate: the missing-certificate policies' paths; sign-encrypt (bounce) encrypts.
    if (std::string_view(outbound_profile) != "sign-encrypt") w.op(fp::envrcpt).strings({"<x@unknown.test>"});
    w.op(fp::header).string("X-Fuzz-Profile").string(outbound_profile);
  }
  w.op(fp::symbol).byte(0).string("4FUZZ1");
  for (const smime::mime::Header& h : root.headers.items) w.op(fp::header).string(h.name).string(h.value);
  w.op(fp::eoh);
  const std::string body = src.slice(root.body);
  for (std::size_t at = 0; at < body.size(); at += 60000)
    w.op(fp::body).byte(0).string(std::string_view(body).substr(at, 60000));
}

int write_filter_program(const std::string& variant, const smime::Source& src, const Entity& root,
                         smime::Sink& out) {
  fp::Writer w;
  w.op(fp::leading_space).byte(1);
  if (variant == "filter-outbound") w.op(fp::symbol).byte(2).string("alice");
  w.op(fp::connect)
      .string("client.example.org")
      .string(variant == "filter-outbound" ? "127.0.0.1" : "192.0.2.7");
  w.op(fp::helo).string("client.example.org");
  if (variant == "filter-abort") {
    w.op(fp::envfrom).strings({"<mallory@example.net>"}).op(fp::envrcpt).strings({"<x@example.com>"});
    w.op(fp::header).string("Subject").string(" aborted").op(fp::eoh).op(fp::body).byte(0).string("half");
    w.op(fp::abort);
  }
  if (variant == "filter-outbound") {
    for (const char* profile : fp::kOutboundProfiles) {  // one connection, one message per profile
      send_message(w, src, root, profile);
      w.op(fp::eom);
    }
    w.op(fp::close);
    out.write(w.bytes());
    return 0;
  }
  send_message(w, src, root);
  if (variant == "filter-fake") {
    w.op(fp::fail_on).byte(4).byte(1);  // the second replacebody chunk is refused
    // accept; a body (1000 bytes, 97 times over: two chunks) and a quarantine; two header edits
    w.op(fp::verdict).byte(4 | 32 | 128).byte(2);
    w.byte(1).string("X-Fuzz").byte(1).string("added");     // add
    w.byte(0).string("Subject").byte(1).string("changed");  // change
    w.string(std::string(1000, 'b')).strings({"gateway@example.com"}).string("held");
  }
  w.op(fp::eom).op(fp::close);
  out.write(w.bytes());
  return 0;
}

int run(const std::string& command, const std::string& in, const std::string& out_path) {
  smime::Source src = smime::Source::from_file(in);
  Entity root = smime::mime::parse(src, src.all());
  smime::FileSink out(out_path);
  bool found = false;
  if (command.starts_with("filter-")) {
    found = write_filter_program(command, src, root, out) == 0;
  } else if (command == "binary") {
    std::uint64_t pos = 0;
    write_binary(src, root, pos, out, found);
    smime::copy(src, smime::Range{pos, src.size() - pos}, out);
  } else {
    const Entity* cms = first_cms(root);
    found = cms != nullptr;
    if (found) out.write(smime::pkcs7_mime_der(src, *cms));
  }
  out.finish();
  return found ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc == 4 ? argv[1] : "";
  if (command != "binary" && command != "der" && command != "filter-inbound" &&
      command != "filter-outbound" && command != "filter-abort" && command != "filter-fake") {
    std::fprintf(stderr, "usage: fuzz-seed-tool binary|der|filter-VARIANT IN OUT\n");
    return 2;
  }
  try {
    return run(argv[1], argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz-seed-tool: %s\n", e.what());
    return 3;
  }
}
