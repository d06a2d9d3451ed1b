// SingleFlight<T>: at most one run of a function per key at a time. A caller that finds a run under way
// for its key waits for it and gets a copy of its result (or its exception); the next caller after the
// run ended starts a new one (callers consult their cache first, which the finished run has filled).
#pragma once

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace revocation::detail {

template <typename T>
class SingleFlight {
 public:
  template <typename Fn>
  T run(const std::string& key, Fn&& fn) {
    std::shared_ptr<Call> call;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = calls_.find(key);
      if (it == calls_.end()) {
        call = std::make_shared<Call>();
        calls_.emplace(key, call);
        leader = true;
      } else {
        call = it->second;
      }
    }
    if (leader) {
      std::optional<T> value;
      std::exception_ptr error;
      try {
        value.emplace(fn());
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        call->value = value;
        call->error = error;
        call->done = true;
        calls_.erase(key);
      }
      done_.notify_all();
      if (error) std::rethrow_exception(error);
      return std::move(*value);
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return call->done; });
    if (call->error) std::rethrow_exception(call->error);
    return *call->value;
  }

 private:
  struct Call {
    bool done = false;
    std::optional<T> value;
    std::exception_ptr error;
  };
  std::mutex mutex_;
  std::condition_variable done_;
  std::map<std::string, std::shared_ptr<Call>> calls_;
};

}  // namespace revocation::detail
