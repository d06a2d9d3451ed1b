// BIO_METHODs that let OpenSSL read from a Source range and write into a Sink without copies.
#include <cstring>
#include <exception>

#include "smime/io.hpp"

namespace smime {

namespace {

struct SourceState {
  Source src;
  Range range;
  std::uint64_t pos;
  bool to_crlf;
  bool prev_cr = false;     // to_crlf: the last byte handed out was CR
  bool pending_lf = false;  // to_crlf: an LF whose CR was handed out at the end of the last read
  std::string raw = {};     // to_crlf: scratch buffer, reused
};

// Reads raw bytes and inserts a CR before every LF not preceded by one. Reads at most half of len
// raw bytes, so the expansion always fits; an LF that needs a CR at the last position is carried.
int read_crlf(SourceState* st, char* buf, int len) {
  std::size_t out = 0;
  const auto cap = static_cast<std::size_t>(len);
  if (st->pending_lf) {
    buf[out++] = '\n';
    st->pending_lf = false;
    st->prev_cr = false;
  }
  if (out < cap && st->pos < st->range.end()) {
    std::size_t room = cap - out;
    std::size_t want = std::max<std::size_t>(1, room / 2);
    want = std::min<std::uint64_t>(want, st->range.end() - st->pos);
    if (st->raw.size() < want) st->raw.resize(want);
    std::string& raw = st->raw;
    std::size_t n = st->src.read(st->pos, raw.data(), want);
    st->pos += n;
    // Whole spans between line feeds are copied at once.
    for (std::size_t i = 0; i < n;) {
      const void* hit = std::memchr(raw.data() + i, '\n', n - i);
      const std::size_t lf = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - raw.data()) : n;
      std::memcpy(buf + out, raw.data() + i, lf - i);
      out += lf - i;
      if (lf > i) st->prev_cr = raw[lf - 1] == '\r';
      if (lf == n) break;
      if (!st->prev_cr) {
        buf[out++] = '\r';
        if (out == cap) {
          st->pending_lf = true;
          st->prev_cr = true;
          // The raw bytes after this LF were not consumed: step back.
          st->pos -= (n - lf - 1);
          return static_cast<int>(out);
        }
      }
      buf[out++] = '\n';
      st->prev_cr = false;
      i = lf + 1;
    }
  }
  return static_cast<int>(out);
}

struct SinkState {
  Sink* sink;
  std::exception_ptr error;  // kept here: an exception must not unwind through OpenSSL's C frames
};

int source_read(BIO* bio, char* buf, int len) {
  auto* st = static_cast<SourceState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (len <= 0 || (st->pos >= st->range.end() && !st->pending_lf)) return 0;
  if (st->to_crlf) {
    try {
      return read_crlf(st, buf, len);
    } catch (...) {
      return -1;
    }
  }
  std::size_t want = std::min<std::uint64_t>(static_cast<std::uint64_t>(len), st->range.end() - st->pos);
  try {
    std::size_t n = st->src.read(st->pos, buf, want);
    st->pos += n;
    return static_cast<int>(n);
  } catch (...) {
    return -1;
  }
}

long source_ctrl(BIO* bio, int cmd, long, void*) {
  auto* st = static_cast<SourceState*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_EOF:
      return st->pos >= st->range.end() && !st->pending_lf ? 1 : 0;
    case BIO_CTRL_RESET:
      st->pos = st->range.offset;
      st->prev_cr = st->pending_lf = false;
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(std::min<std::uint64_t>(st->range.end() - st->pos, 1u << 30));
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

int source_destroy(BIO* bio) {
  delete static_cast<SourceState*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

int sink_write(BIO* bio, const char* buf, int len) {
  auto* st = static_cast<SinkState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (st->error) return -1;
  if (len <= 0) return 0;
  try {
    st->sink->write(std::string_view(buf, static_cast<std::size_t>(len)));
    return len;
  } catch (...) {
    st->error = std::current_exception();
    return -1;
  }
}

int sink_puts(BIO* bio, const char* str) {
  return sink_write(bio, str, static_cast<int>(std::char_traits<char>::length(str)));
}

long sink_ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // finishing is the owner's call (Sink::finish), not OpenSSL's
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
      return 0;
    default:
      return 0;
  }
}

int sink_destroy(BIO* bio) {
  delete static_cast<SinkState*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

using MethodPtr = std::unique_ptr<BIO_METHOD, OsslDeleter<BIO_meth_free>>;

const BIO_METHOD* source_method() {
  static const MethodPtr method = [] {
    MethodPtr m(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smime source range"));
    if (!m) throw_openssl(ErrorKind::crypto, "creating the source BIO method");
    BIO_meth_set_read(m.get(), source_read);
    BIO_meth_set_ctrl(m.get(), source_ctrl);
    BIO_meth_set_destroy(m.get(), source_destroy);
    return m;
  }();
  return method.get();
}

const BIO_METHOD* sink_method() {
  static const MethodPtr method = [] {
    MethodPtr m(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smime sink"));
    if (!m) throw_openssl(ErrorKind::crypto, "creating the sink BIO method");
    BIO_meth_set_write(m.get(), sink_write);
    BIO_meth_set_puts(m.get(), sink_puts);
    BIO_meth_set_ctrl(m.get(), sink_ctrl);
    BIO_meth_set_destroy(m.get(), sink_destroy);
    return m;
  }();
  return method.get();
}

}  // namespace

BioPtr make_source_bio(const Source& src, Range r, bool to_crlf) {
  BioPtr bio = take<BioPtr>(BIO_new(source_method()), "creating a source BIO");
  BIO_set_data(bio.get(), new SourceState{src, r, r.offset, to_crlf});
  BIO_set_init(bio.get(), 1);
  return bio;
}

BioPtr make_sink_bio(Sink& sink) {
  BioPtr bio = take<BioPtr>(BIO_new(sink_method()), "creating a sink BIO");
  BIO_set_data(bio.get(), new SinkState{&sink, nullptr});
  BIO_set_init(bio.get(), 1);
  return bio;
}

void rethrow_sink_error(BIO* sink_bio) {
  auto* st = static_cast<SinkState*>(BIO_get_data(sink_bio));
  if (st != nullptr && st->error) std::rethrow_exception(st->error);
}

}  // namespace smime
