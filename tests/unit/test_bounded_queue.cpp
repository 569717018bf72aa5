#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "sys/bounded_queue.hpp"

using poolcert::BoundedQueue;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kNoLinger{0};

TEST_CASE("BoundedQueue: a full queue makes the producer wait, close lets consumers drain") {
  BoundedQueue<int> queue(2);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 5; ++i) {
      queue.push(i);
      ++pushed;
    }
    queue.close();
  });
  // Nothing is popped yet: the producer can get no further than the capacity.
  // Wait (up to 10 s on a loaded machine) for the two pushes that fit, then give a wrong
  // implementation time to push a third.
  for (int wait = 0; wait < 1000 && pushed.load() < 2; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(pushed.load() == 2);
  std::vector<int> got;
  while (std::optional<int> item = queue.pop()) got.push_back(*item);
  producer.join();
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
  CHECK_FALSE(queue.pop().has_value());  // closed and empty stays empty
}

TEST_CASE("BoundedQueue: several consumers each take every item exactly once") {
  BoundedQueue<int> queue(3);
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 4; ++c) {
    consumers.emplace_back([&] {
      while (std::optional<int> item = queue.pop()) {
        sum += *item;
        ++count;
      }
    });
  }
  for (int i = 1; i <= 1000; ++i) queue.push(i);
  queue.close();
  for (std::thread& t : consumers) t.join();
  CHECK(count.load() == 1000);
  CHECK(sum.load() == 1000L * 1001 / 2);
}

TEST_CASE("BoundedQueue: pop_batch takes what is queued, up to its limit, in order") {
  BoundedQueue<int> queue(8);
  for (int i = 0; i < 5; ++i) queue.push(i);
  CHECK(queue.pop_batch(3, kNoLinger) == std::vector<int>{0, 1, 2});
  CHECK(queue.pop_batch(3, kNoLinger) ==
        std::vector<int>{3, 4});  // fewer than the limit: no waiting
  queue.push(5);
  queue.close();
  CHECK(queue.pop_batch(3, kNoLinger) == std::vector<int>{5});  // closed: the rest is still drained
  CHECK(queue.pop_batch(3, kNoLinger).empty());
}

TEST_CASE("BoundedQueue: pop_batch frees room for every waiting producer") {
  BoundedQueue<int> queue(2);
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) producers.emplace_back([&, p] { queue.push(p); });
  std::vector<int> got;
  while (got.size() < 4) {
    for (int item : queue.pop_batch(2, kNoLinger)) got.push_back(item);
  }
  for (std::thread& t : producers) t.join();
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("BoundedQueue: pop_batch lingers for a full batch, not past its limit") {
  BoundedQueue<int> queue(8);
  queue.push(1);
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);
    queue.push(2);
    queue.push(3);
  });
  // The batch fills well within the linger: all three come together.
  CHECK(queue.pop_batch(3, 10s) == std::vector<int>{1, 2, 3});
  producer.join();
  queue.push(4);
  // Never filled: what is there comes after the linger, not never.
  CHECK(queue.pop_batch(3, 30ms) == std::vector<int>{4});
  queue.push(5);
  queue.close();
  CHECK(queue.pop_batch(3, 10s) == std::vector<int>{5});  // closed: no lingering
}
