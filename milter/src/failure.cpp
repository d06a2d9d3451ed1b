#include "milter/failure.hpp"

#include "keystore/error.hpp"
#include "milter/logging.hpp"
#include "smime/error.hpp"

namespace milter {

namespace {

// One row of the reply table: the enhanced status codes for reject and tempfail, and the public text.
struct ReplyRow {
  std::string_view reject_status;
  std::string_view tempfail_status;
  std::string_view text;
};

ReplyRow row(FailureClass c) {
  switch (c) {
    case FailureClass::internal:
      return {"5.7.1", "4.7.0", "internal error"};
    case FailureClass::keystore:
      return {"5.7.1", "4.7.0", "certificate store unavailable"};
    case FailureClass::no_certificate:
      return {"5.7.1", "4.7.0", "no usable encryption certificate"};
    case FailureClass::bad_input:
      return {"5.7.1", "4.7.0", "message cannot be processed for S/MIME"};
    case FailureClass::signing:
      return {"5.7.1", "4.7.0", "cannot sign for this sender"};
    case FailureClass::revocation:
      return {"5.7.1", "4.7.0", "revocation status could not be determined"};
  }
  return {"5.7.1", "4.7.0", "internal error"};
}

ReplyRow row(InboundClass c) {
  switch (c) {
    case InboundClass::undecryptable:
      return {"5.7.5", "4.7.5", "message could not be decrypted"};
    case InboundClass::unauthenticated:
      return {"5.7.7", "4.7.0", "decrypted content is unauthenticated"};
    case InboundClass::fail:
      return {"5.7.7", "4.7.0", "S/MIME signature failed"};
    case InboundClass::permerror:
      return {"5.7.1", "4.7.0", "malformed S/MIME"};
    case InboundClass::temperror:
      return {"5.7.1", "4.7.0", "S/MIME signature not checked"};
  }
  return {"5.7.1", "4.7.0", "S/MIME policy"};
}

constexpr std::string_view kRejectCode = "550";
constexpr std::string_view kTempfailCode = "451";

// "<text>[: <detail>], queue id <id>"; the detail is cut at 300 bytes (a list of many recipients).
std::string public_text(std::string_view text, std::string_view detail, std::string_view queue_id) {
  std::string out(text);
  if (!detail.empty()) {
    out += ": ";
    out += detail.size() > 300 ? std::string(detail.substr(0, 300)) + "..." : std::string(detail);
  }
  out += ", queue id ";
  out += queue_id.empty() ? std::string_view("-") : queue_id;
  return out;
}

Reply reply(bool reject, const ReplyRow& r, std::string_view text, std::string_view detail,
            std::string_view queue_id) {
  return Reply{std::string(reject ? kRejectCode : kTempfailCode),
               std::string(reject ? r.reject_status : r.tempfail_status),
               public_text(text, detail, queue_id)};
}

}  // namespace

std::string_view to_string(FailureClass c) {
  switch (c) {
    case FailureClass::internal:
      return "internal";
    case FailureClass::keystore:
      return "keystore";
    case FailureClass::no_certificate:
      return "no-certificate";
    case FailureClass::bad_input:
      return "bad-input";
    case FailureClass::signing:
      return "signing";
    case FailureClass::revocation:
      return "revocation";
  }
  return "internal";
}

std::string_view to_string(InboundClass c) {
  switch (c) {
    case InboundClass::undecryptable:
      return "undecryptable";
    case InboundClass::unauthenticated:
      return "unauthenticated";
    case InboundClass::fail:
      return "fail";
    case InboundClass::permerror:
      return "permerror";
    case InboundClass::temperror:
      return "temperror";
  }
  return "fail";
}

FailureClass classify(std::exception_ptr e) noexcept {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const Failure& f) {
    return f.failure_class();
  } catch (const keystore::Error& k) {
    return k.kind() == keystore::ErrorKind::store ? FailureClass::keystore : FailureClass::internal;
  } catch (const smime::Error& s) {
    return s.kind() == smime::ErrorKind::bad_input ? FailureClass::bad_input : FailureClass::internal;
  } catch (...) {
  }
  return FailureClass::internal;
}

std::string describe(std::exception_ptr e) noexcept {
  try {
    try {
      if (e) std::rethrow_exception(e);
      return "no exception";
    } catch (const keystore::Error& k) {
      return "keystore: " + std::string(k.what());
    } catch (const smime::Error& s) {
      return std::string(smime::to_string(s.kind())) + ": " + s.what();
    } catch (const std::exception& x) {
      return x.what();
    } catch (...) {
      return "unknown exception";
    }
  } catch (...) {
    return {};  // out of memory while describing
  }
}

std::string public_detail(std::exception_ptr e) noexcept {
  try {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const Failure& f) {
      return f.public_detail();
    } catch (...) {
    }
  } catch (...) {
  }
  return {};
}

conf::Action action_for(const conf::FailureActions& a, FailureClass c) {
  switch (c) {
    case FailureClass::internal:
      return a.internal;
    case FailureClass::keystore:
      return a.keystore;
    case FailureClass::no_certificate:
      return a.no_certificate;
    case FailureClass::bad_input:
      return a.bad_input;
    case FailureClass::signing:
      return a.signing;
    case FailureClass::revocation:  // revocation.encrypt/verify = tempfail: the setting is the action
      return conf::Action::tempfail;
  }
  return a.internal;
}

Reply failure_reply(conf::Action action, FailureClass c, std::string_view public_detail,
                    std::string_view queue_id) {
  if (action != conf::Action::reject && action != conf::Action::tempfail) return {};
  const ReplyRow r = row(c);
  // An internal failure answered with tempfail says no more than that it is temporary.
  const std::string_view text =
      c == FailureClass::internal && action == conf::Action::tempfail ? "temporary failure" : r.text;
  return reply(action == conf::Action::reject, r, text, public_detail, queue_id);
}

Reply inbound_reply(conf::InboundAction action, InboundClass c, std::string_view comment,
                    std::string_view queue_id) {
  if (action != conf::InboundAction::reject && action != conf::InboundAction::tempfail) return {};
  const ReplyRow r = row(c);
  return reply(action == conf::InboundAction::reject, r, r.text, comment, queue_id);
}

std::string_view inbound_text(InboundClass c) { return row(c).text; }

Reply tempfail_reply(std::string_view queue_id) {
  return reply(false, row(FailureClass::internal), "temporary failure", {}, queue_id);
}

Verdict failure_verdict(const conf::Config& config, FailureClass c, std::string_view detail,
                        std::string_view public_detail, std::string_view queue_id) {
  Verdict v;
  v.action = action_for(config.failure_actions, c);
  v.reply = failure_reply(v.action, c, public_detail, queue_id);
  v.log.push_back({conf::LogLevel::error, logging::Line()
                                              .add("failure", to_string(c))
                                              .add("action", conf::to_string(v.action))
                                              .add("reason", detail)
                                              .str()});
  return v;
}

}  // namespace milter
