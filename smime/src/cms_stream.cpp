#include "cms_stream.hpp"

#include <climits>
#include <string>

namespace smime::detail {

namespace {

// BIO_new_CMS(...) -> ... -> our sink BIO -> base64 -> out.
class StreamedBerWriter final : public CmsWriter {
 public:
  StreamedBerWriter(CMS_ContentInfo* cms, Sink& out) : base64_(out), sink_bio_(make_sink_bio(base64_)) {
    // The chain gets a reference of its own, so its BIO_free_all stops at the sink and ours stays valid.
    check(BIO_up_ref(sink_bio_.get()), "referencing the output BIO");
    BioPtr chain_ref(sink_bio_.get());
    chain_ = take<BioPtr>(BIO_new_CMS(chain_ref.get(), cms), "starting the CMS stream");
    chain_ref.release();  // owned by the chain now
  }

  void write(std::string_view bytes) override {
    while (!bytes.empty()) {
      int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
      int n = BIO_write(chain_.get(), bytes.data(), chunk);
      rethrow_sink_error(sink_bio_.get());
      if (n <= 0) throw_openssl(ErrorKind::crypto, "writing content into the CMS stream");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void finish() override {
    int rc = BIO_flush(chain_.get());
    rethrow_sink_error(sink_bio_.get());
    if (rc <= 0) throw_openssl(ErrorKind::crypto, "completing the CMS stream");
    base64_.finish();
  }

 private:
  Base64Sink base64_;
  BioPtr sink_bio_;  // our reference; the chain below holds another
  BioPtr chain_;
};

class BufferedDerWriter final : public CmsWriter {
 public:
  BufferedDerWriter(CMS_ContentInfo* cms, std::size_t max_in_memory, Sink& out)
      : cms_(cms), max_(std::min<std::size_t>(max_in_memory, INT_MAX)), out_(out) {}

  void write(std::string_view bytes) override {
    if (bytes.size() > max_ - std::min(max_, content_.size()))
      throw Error(ErrorKind::bad_input, "the content is larger than the " + std::to_string(max_) +
                                            " bytes that can be held in memory for DER or RSA-PSS output");
    content_.append(bytes);
  }

  void finish() override {
    BioPtr in = take<BioPtr>(BIO_new_mem_buf(content_.data(), static_cast<int>(content_.size())),
                             "reading the content from memory");
    check(CMS_final(cms_, in.get(), nullptr, CMS_BINARY), "completing the CMS structure");
    in.reset();
    std::string().swap(content_);
    Base64Sink base64(out_);
    base64.write(cms_to_der(cms_));
    base64.finish();
  }

 private:
  CMS_ContentInfo* cms_;
  std::size_t max_;
  Sink& out_;
  std::string content_;
};

}  // namespace

std::unique_ptr<CmsWriter> streamed_ber_writer(CMS_ContentInfo* cms, Sink& out) {
  return std::make_unique<StreamedBerWriter>(cms, out);
}

std::unique_ptr<CmsWriter> buffered_der_writer(CMS_ContentInfo* cms, std::size_t max_in_memory, Sink& out) {
  return std::make_unique<BufferedDerWriter>(cms, max_in_memory, out);
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
