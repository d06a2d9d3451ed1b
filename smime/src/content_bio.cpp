#include "content_bio.hpp"

#include <exception>

#include "ber_stream.hpp"

namespace smime::detail {

namespace {

struct ContentState {
  ContentState(const Source& src, const mime::Entity& entity, std::uint64_t content_offset)
      : reader(src, entity.body, entity.encoding), octets(positioned(reader, content_offset)) {}

  static OctetStringReader positioned(DecodedReader& r, std::uint64_t offset) {
    if (!r.skip(offset)) throw Error(ErrorKind::bad_input, "malformed CMS: the encrypted content is gone");
    return OctetStringReader(r, read_ber_header(r, "the encrypted content"));
  }

  DecodedReader reader;
  OctetStringReader octets;  // reads through `reader`
  std::exception_ptr error;  // kept here: an exception must not unwind through OpenSSL's C frames
};

int content_read(BIO* bio, char* buf, int len) {
  auto* st = static_cast<ContentState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (st->error) return -1;
  if (len <= 0) return 0;
  try {
    return static_cast<int>(st->octets.read(buf, static_cast<std::size_t>(len)));
  } catch (...) {
    st->error = std::current_exception();
    return -1;
  }
}

long content_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int content_destroy(BIO* bio) {
  delete static_cast<ContentState*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

using MethodPtr = std::unique_ptr<BIO_METHOD, OsslDeleter<BIO_meth_free>>;

const BIO_METHOD* content_method() {
  static const MethodPtr method = [] {
    MethodPtr m(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smime encrypted content"));
    if (!m) throw_openssl(ErrorKind::crypto, "creating the encrypted content BIO method");
    BIO_meth_set_read(m.get(), content_read);
    BIO_meth_set_ctrl(m.get(), content_ctrl);
    BIO_meth_set_destroy(m.get(), content_destroy);
    return m;
  }();
  return method.get();
}

}  // namespace

BioPtr make_content_bio(const Source& src, const mime::Entity& entity, std::uint64_t content_offset) {
  auto state = std::make_unique<ContentState>(src, entity, content_offset);
  BioPtr bio = take<BioPtr>(BIO_new(content_method()), "creating the encrypted content BIO");
  BIO_set_data(bio.get(), state.release());
  BIO_set_init(bio.get(), 1);
  return bio;
}

void rethrow_content_error(BIO* content_bio) {
  auto* st = static_cast<ContentState*>(BIO_get_data(content_bio));
  if (st != nullptr && st->error) std::rethrow_exception(st->error);
}

}  // namespace smime::detail
