// See context.hpp.
#include "milter/context.hpp"

#include "keystore/sqlite_store.hpp"

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

keystore::Store& ConnectionContext::store(const conf::Config& config) {
  if (!store_ || store_path_ != config.keystore.path) {
    store_.reset();
    keystore::SqliteOptions options;
    options.create = false;  // a wrong path is an unavailable keystore, not a new empty one
    store_ = keystore::open_sqlite_store(config.keystore.path.string(), options);
    store_path_ = config.keystore.path;
  }
  return *store_;
}

}  // namespace milter
