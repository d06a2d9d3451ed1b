#include "milter/message_buffer.hpp"

namespace milter {

void MessageBuffer::append(std::string_view chunk) {
  if (!spool_ && memory_.size() + chunk.size() > memory_limit_) {
    spool_ = std::make_unique<SpoolFile>(directory_);
    spool_->sink().write(memory_);
    std::string().swap(memory_);  // give the memory back now, not at the end of the message
  }
  if (spool_) {
    spool_->sink().write(chunk);
  } else {
    memory_.append(chunk);
  }
  size_ += chunk.size();
}

smime::Source MessageBuffer::finish() {
  if (!spool_) return smime::Source::from_string(std::move(memory_));
  spool_->sink().finish();
  return spool_->source();
}

}  // namespace milter
