// BoundedQueue: a blocking producer/consumer queue with a fixed capacity, so that a fast
// producer cannot pile up work (and memory) ahead of slow consumers. Internal to the library.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace poolcert {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // push waits while the queue is full, then adds `item`.
  void push(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(std::move(item));
    not_empty_.notify_one();
  }

  // pop waits for an item; nullopt once the queue is closed and empty.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // pop_batch waits for an item, then for the queue to hold `max` items (or to be closed) for at
  // most `linger`, and takes up to `max` items in queue order; empty once the queue is closed and
  // empty. Lingering lets a consumer whose per-batch cost is high (a disk flush) take big batches
  // from fast producers, and still take one item at a time from slow ones.
  std::vector<T> pop_batch(std::size_t max, std::chrono::milliseconds linger) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    max = std::min(max, capacity_);  // more could never be queued at once
    not_empty_.wait_for(lock, linger, [&] { return items_.size() >= max || closed_; });
    std::vector<T> batch;
    while (!items_.empty() && batch.size() < max) {
      batch.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    not_full_.notify_all();
    return batch;
  }

  // close says no more items will come: consumers drain what is left, then pop gives nullopt.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace poolcert
