#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "poolcert/sys/parallel.hpp"

using poolcert::parallel_for;

TEST_CASE("parallel_for: every index exactly once, on at most the threads asked") {
  constexpr std::size_t kCount = 5000;
  std::vector<std::atomic<int>> calls(kCount);
  std::mutex ids_mutex;
  std::set<std::thread::id> ids;
  parallel_for(kCount, 4, [&](std::size_t i) {
    ++calls[i];
    std::lock_guard<std::mutex> lock(ids_mutex);
    ids.insert(std::this_thread::get_id());
  });
  for (std::size_t i = 0; i < kCount; ++i) REQUIRE(calls[i].load() == 1);
  CHECK(ids.size() <= 4);  // which threads got items is up to the scheduler
}

TEST_CASE("parallel_for: two threads asked, two items run at the same time") {
  // Each of the two items waits (up to 10 s) for the other to start: on one thread the second
  // never would.
  std::atomic<int> started{0};
  std::atomic<bool> met{true};
  parallel_for(2, 2, [&](std::size_t) {
    ++started;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2) {
      if (std::chrono::steady_clock::now() > deadline) {
        met = false;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  CHECK(met.load());
}

TEST_CASE("parallel_for: one thread runs in index order on the caller") {
  std::vector<std::size_t> order;
  std::set<std::thread::id> ids;
  parallel_for(10, 1, [&](std::size_t i) {
    order.push_back(i);
    ids.insert(std::this_thread::get_id());
  });
  CHECK(order == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(ids == std::set<std::thread::id>{std::this_thread::get_id()});
  std::size_t zero_threads = 0;
  parallel_for(3, 0, [&](std::size_t) { ++zero_threads; });  // 0 threads: still done, by one
  CHECK(zero_threads == 3);
  bool ran = false;
  parallel_for(0, 8, [&](std::size_t) { ran = true; });
  CHECK_FALSE(ran);
}

TEST_CASE("parallel_for: the exception of the lowest failing index, once every thread stopped") {
  std::atomic<int> running{0};
  std::atomic<int> max_after_return{0};
  try {
    parallel_for(1000, 3, [&](std::size_t i) {
      ++running;
      if (i == 700 || i == 40 || i == 41) {
        std::this_thread::sleep_for(std::chrono::milliseconds(i == 40 ? 30 : 0));
        --running;
        throw std::runtime_error("item " + std::to_string(i));
      }
      --running;
    });
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "item 40");  // 41 may throw first; 40 is still the one
    max_after_return = running.load();
  }
  CHECK(max_after_return.load() == 0);  // nothing still running when it returned
}
