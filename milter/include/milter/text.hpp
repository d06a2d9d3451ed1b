// Text the milter writes into a header field or an SMTP reply: one line of printable text. (Log lines
// have their own escaping: logging::quote.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace milter {

// Control characters (CR, LF, TAB, DEL...) become a space; at most `max` bytes, "..." marking a cut.
std::string printable(std::string_view text, std::size_t max = 400);

}  // namespace milter
