#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "../../src/core/bounded_queue.hpp"

using poolcert::BoundedQueue;

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
