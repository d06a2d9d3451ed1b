#include "cms_stream.hpp"

namespace smime::detail {

CmsBase64Writer::CmsBase64Writer(CMS_ContentInfo* cms, Sink& out)
    : base64_(out), sink_bio_(make_sink_bio(base64_)) {
  // The chain gets a reference of its own, so its BIO_free_all stops at the sink and ours stays valid.
  check(BIO_up_ref(sink_bio_.get()), "referencing the output BIO");
  BioPtr chain_ref(sink_bio_.get());
  chain_ = take<BioPtr>(BIO_new_CMS(chain_ref.get(), cms), "starting the CMS stream");
  chain_ref.release();  // owned by the chain now
}

void CmsBase64Writer::write(std::string_view bytes) {
  while (!bytes.empty()) {
    int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
    int n = BIO_write(chain_.get(), bytes.data(), chunk);
    rethrow_sink_error(sink_bio_.get());
    if (n <= 0) throw_openssl(ErrorKind::crypto, "writing content into the CMS stream");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void CmsBase64Writer::finish() {
  int rc = BIO_flush(chain_.get());
  rethrow_sink_error(sink_bio_.get());
  if (rc <= 0) throw_openssl(ErrorKind::crypto, "completing the CMS stream");
  base64_.finish();
}

void write_base64(std::string_view der, Sink& out) {
  StringSink text;
  Base64Sink b64(text);
  b64.write(der);
  b64.finish();
  out.write(text.str());
}

std::string cms_to_der(CMS_ContentInfo* cms) {
  unsigned char* der = nullptr;
  int n = i2d_CMS_ContentInfo(cms, &der);
  if (n <= 0) throw_openssl(ErrorKind::crypto, "encoding the CMS structure");
  OsslStringPtr owned(reinterpret_cast<char*>(der));
  return std::string(owned.get(), static_cast<std::size_t>(n));
}

}  // namespace smime::detail
