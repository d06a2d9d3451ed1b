// A fixed pool of threads that runs the pipeline: one thread per core (or as configured) made at start,
// instead of a thread per message. The callback thread hands a message's work to the pool and waits for
// it, sending smfi_progress meanwhile (libmilter's context may only be used from the callback thread).
//
// Contract: submit() never blocks for long (the queue is unbounded; at most one task per SMTP connection
// waits in it, since each callback thread waits for its own). A task's exception is kept in its future.
// The destructor runs what is queued, then joins the threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace milter {

class WorkerPool {
 public:
  // threads 0: one per CPU core (at least 1).
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  template <typename F>
  std::future<std::invoke_result_t<F&>> submit(F fn) {
    std::packaged_task<std::invoke_result_t<F&>()> task(std::move(fn));
    auto result = task.get_future();
    enqueue(std::packaged_task<void()>([t = std::move(task)]() mutable { t(); }));
    return result;
  }

  std::size_t size() const { return threads_.size(); }

 private:
  void enqueue(std::packaged_task<void()> task);
  void work();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace milter
