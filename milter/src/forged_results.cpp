#include "milter/forged_results.hpp"

#include <algorithm>
#include <string>

#include "milter/auth_results.hpp"

namespace milter {

namespace {

std::string_view without_trailing_space(std::string_view name) {
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return name;
}

bool names(const smime::mime::Header& h, std::string_view wanted) {
  return conf::iequals(without_trailing_space(h.name), wanted);
}

// The 1-based index of items[i] among the headers of exactly its own name, as the MTA counts them.
int index_of(const smime::mime::HeaderList& headers, std::size_t i) {
  int n = 0;
  for (std::size_t j = 0; j <= i; ++j)
    if (conf::iequals(headers.items[j].name, headers.items[i].name)) ++n;
  return n;
}

// Deletions of the headers at `positions`, last first, so that the indexes still to delete do not move.
void delete_at(const smime::mime::HeaderList& headers, const std::vector<std::size_t>& positions,
               std::vector<HeaderEdit>& edits) {
  for (auto it = positions.rbegin(); it != positions.rend(); ++it)
    edits.push_back(
        HeaderEdit{HeaderEdit::Kind::change, headers.items[*it].name, index_of(headers, *it), {}});
}

}  // namespace

std::vector<HeaderEdit> forged_result_edits(const conf::Config& config,
                                            const smime::mime::HeaderList& headers,
                                            std::vector<logging::Line>* removed) {
  std::vector<HeaderEdit> edits;
  // Authentication-Results: only those carrying our authserv-id.
  std::vector<std::size_t> ours;
  for (std::size_t i = 0; i < headers.items.size(); ++i)
    if (names(headers.items[i], "Authentication-Results") &&
        auth_results::is_ours(headers.items[i].unfolded(), config.inbound.authserv_id))
      ours.push_back(i);
  delete_at(headers, ours, edits);
  if (!ours.empty() && removed != nullptr)
    removed->push_back(
        logging::Line("removed-forged").add("header", "Authentication-Results").add("count", ours.size()));
  // The simple headers and the trace header: every copy.
  std::vector<std::string> wanted;
  for (const std::string* n : {&config.inbound.headers.smime, &config.inbound.headers.decrypted,
                               &config.inbound.headers.verified, &config.trace_header}) {
    if (n->empty() || conf::iequals(*n, "Authentication-Results")) continue;
    if (std::none_of(wanted.begin(), wanted.end(),
                     [&](const std::string& x) { return conf::iequals(x, *n); }))
      wanted.push_back(*n);
  }
  for (const std::string& name : wanted) {
    std::vector<std::size_t> copies;
    for (std::size_t i = 0; i < headers.items.size(); ++i)
      if (names(headers.items[i], name)) copies.push_back(i);
    delete_at(headers, copies, edits);
    if (!copies.empty() && removed != nullptr)
      removed->push_back(logging::Line("removed-forged").add("header", name).add("count", copies.size()));
  }
  return edits;
}

}  // namespace milter
