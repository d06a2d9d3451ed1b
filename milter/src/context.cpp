// See context.hpp.
#include "milter/context.hpp"

namespace milter {

MessageContext::MessageContext(std::shared_ptr<const conf::Config> snapshot)
    : config(std::move(snapshot)), body(config->spool.directory, config->spool.memory_limit) {}

ConnectionContext::~ConnectionContext() { end_message(); }

MessageContext& ConnectionContext::begin_message(std::shared_ptr<const conf::Config> snapshot) {
  end_message();
  message_ = std::make_unique<MessageContext>(std::move(snapshot));
  message_->envelope.client_address = client_address;
  message_->envelope.queue_id = "-";
  return *message_;
}

void ConnectionContext::end_message() { message_.reset(); }

}  // namespace milter
