// fuzz-seed-tool: turns the S/MIME messages of make-seeds.sh into the other seed forms it needs.
//   binary IN OUT   the message with every base64 CMS part (application/pkcs7-mime, -signature)
//                   carried as Content-Transfer-Encoding: binary, so mutations hit the DER directly
//   der IN OUT      the DER of the message's first CMS part
// Exit codes: 0 done, 1 no CMS part found, 2 usage, 3 anything else.
#include <cstdio>
#include <exception>
#include <string>

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

int run(const std::string& command, const std::string& in, const std::string& out_path) {
  smime::Source src = smime::Source::from_file(in);
  Entity root = smime::mime::parse(src, src.all());
  smime::FileSink out(out_path);
  bool found = false;
  if (command == "binary") {
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
  if (argc != 4 || (std::string(argv[1]) != "binary" && std::string(argv[1]) != "der")) {
    std::fprintf(stderr, "usage: fuzz-seed-tool binary|der IN OUT\n");
    return 2;
  }
  try {
    return run(argv[1], argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz-seed-tool: %s\n", e.what());
    return 3;
  }
}
