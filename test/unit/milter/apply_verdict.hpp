// Test helper: a Verdict applied to a Message the way the MTA applies a milter's changes — header edits
// in order (index among headers of that name, 1-based; an empty change deletes; insert_first prepends),
// then the new body — giving the whole message as delivered.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "conf/match.hpp"
#include "milter/message.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace test {

inline std::string rebuild(const milter::Message& m, const milter::Verdict& v) {
  using milter::HeaderEdit;
  smime::mime::HeaderList h = m.headers;
  for (const HeaderEdit& e : v.header_edits) {
    if (e.kind == HeaderEdit::Kind::change) {
      int seen = 0;
      auto it = h.items.begin();
      for (; it != h.items.end(); ++it)
        if (conf::iequals(it->name, e.name) && ++seen == e.index) break;
      REQUIRE(it != h.items.end());  // a change or deletion must name an existing header
      if (e.value.empty())
        h.items.erase(it);
      else
        it->value = " " + e.value;
    } else if (e.kind == HeaderEdit::Kind::add) {
      h.items.push_back({e.name, " " + e.value});
    } else {
      h.items.insert(h.items.begin(), {e.name, " " + e.value});
    }
  }
  smime::StringSink out;
  smime::mime::write_headers(h, out);
  out.write("\r\n");
  const smime::Source body = v.new_body ? *v.new_body : m.body;
  smime::copy(body, body.all(), out);
  return out.take();
}

}  // namespace test
