// Test helper: a Verdict applied to a Message the way the MTA applies a milter's changes — header edits
// in order (index among headers of that name, 1-based; an empty change deletes; insert_first prepends),
// then the new body — giving the whole message as delivered.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "header_edits.hpp"
#include "milter/message.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace test {

inline std::string rebuild(const milter::Message& m, const milter::Verdict& v) {
  const std::optional<smime::mime::HeaderList> edited = apply_header_edits(m, v);
  REQUIRE(edited);  // a change or deletion must name an existing header
  const smime::mime::HeaderList& h = *edited;
  smime::StringSink out;
  smime::mime::write_headers(h, out);
  out.write("\r\n");
  const smime::Source body = v.new_body ? *v.new_body : m.body;
  smime::copy(body, body.all(), out);
  return out.take();
}

}  // namespace test
