// Test helper without a test framework (the unit tests and the fuzz targets share it): a Verdict's
// header edits applied to a message's fields the way the MTA applies a milter's changes — in order,
// a change naming its field by index among the fields of that name (1-based), an empty change deleting
// it, add appending, insert_first prepending.
#pragma once

#include <optional>

#include "conf/match.hpp"
#include "milter/message.hpp"
#include "smime/mime.hpp"

namespace test {

// None when a change or deletion names a field the message does not have.
inline std::optional<smime::mime::HeaderList> apply_header_edits(const milter::Message& m,
                                                                 const milter::Verdict& v) {
  using milter::HeaderEdit;
  smime::mime::HeaderList h = m.headers;
  for (const HeaderEdit& e : v.header_edits) {
    if (e.kind == HeaderEdit::Kind::change) {
      int seen = 0;
      auto it = h.items.begin();
      for (; it != h.items.end(); ++it)
        if (conf::iequals(it->name, e.name) && ++seen == e.index) break;
      if (it == h.items.end()) return std::nullopt;
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
  return h;
}

}  // namespace test
