#include "milter/entity_output.hpp"

#include <algorithm>

namespace milter {

namespace {
// The largest header block a new entity can have.
constexpr std::size_t kMaxEntityHeader = 64 * 1024;
}  // namespace

Output::Output(const conf::Config& config, std::uint64_t size_hint) {
  if (size_hint >= config.spool.memory_limit) spool_ = std::make_unique<SpoolFile>(config.spool.directory);
}

smime::Source Output::finish() {
  sink().finish();
  return spool_ ? spool_->source() : smime::Source::from_string(memory_.take());
}

void HeaderSplitSink::write(std::string_view bytes) {
  if (in_body_) {
    body_.write(bytes);
    return;
  }
  const std::size_t searched_from = header_.size() >= 3 ? header_.size() - 3 : 0;
  header_.append(bytes);
  std::string rest;
  if (header_.size() >= 2 && header_.compare(0, 2, "\r\n") == 0) {  // no header fields at all
    rest = header_.substr(2);
    header_.clear();
  } else {
    auto end = header_.find("\r\n\r\n", searched_from);
    if (end == std::string::npos) {
      if (header_.size() > kMaxEntityHeader)
        throw NotAnEntity("the new entity's header block exceeds 64 KiB");
      return;
    }
    rest = header_.substr(end + 4);
    header_.resize(end + 2);
  }
  in_body_ = true;
  if (!rest.empty()) body_.write(rest);
}

void HeaderSplitSink::finish() {
  if (!in_body_) throw NotAnEntity("the new entity has no header/body separator");
  body_.finish();
}

std::vector<HeaderEdit> replace_content_headers(const smime::mime::HeaderList& original,
                                                const smime::mime::HeaderList& content) {
  auto is_content = [](const std::string& n) {
    return n.size() >= 8 && conf::iequals(std::string_view(n).substr(0, 8), "Content-");
  };
  std::vector<HeaderEdit> edits;
  std::vector<std::pair<std::string, int>> names;  // in first-seen order, with their counts
  for (const auto& h : original.items) {
    if (!is_content(h.name)) continue;
    auto it = std::find_if(names.begin(), names.end(),
                           [&](const auto& p) { return conf::iequals(p.first, h.name); });
    if (it == names.end())
      names.emplace_back(h.name, 1);
    else
      ++it->second;
  }
  for (const auto& [name, count] : names)
    for (int i = count; i >= 1; --i) edits.push_back(HeaderEdit{HeaderEdit::Kind::change, name, i, {}});
  const std::size_t mime_versions = original.count("MIME-Version");
  if (mime_versions == 0) {
    edits.push_back(HeaderEdit{HeaderEdit::Kind::add, "MIME-Version", 1, "1.0"});
  } else {
    for (int i = static_cast<int>(mime_versions); i >= 2; --i)
      edits.push_back(HeaderEdit{HeaderEdit::Kind::change, "MIME-Version", i, {}});
    edits.push_back(HeaderEdit{HeaderEdit::Kind::change, "MIME-Version", 1, "1.0"});
  }
  for (const auto& h : content.items) {
    if (!is_content(h.name)) continue;
    std::string value = h.unfolded();  // folding removed; the tab that began a continuation becomes a space
    std::replace(value.begin(), value.end(), '\t', ' ');
    edits.push_back(HeaderEdit{HeaderEdit::Kind::add, h.name, 1, std::move(value)});
  }
  return edits;
}

}  // namespace milter
