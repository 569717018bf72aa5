#include "poolcert/sys/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace poolcert {

void parallel_for(std::size_t count, unsigned threads,
                  const std::function<void(std::size_t)>& body) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex failure_mutex;
  std::size_t failed_at = count;
  std::exception_ptr failure;
  auto worker = [&] {
    for (std::size_t i = next++; i < count && !stop; i = next++) {
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (i < failed_at) {
          failed_at = i;
          failure = std::current_exception();
        }
        stop = true;
      }
    }
  };
  const std::size_t wanted = std::min<std::size_t>(std::max(threads, 1u), count);
  std::vector<std::thread> helpers;
  if (wanted > 1) helpers.reserve(wanted - 1);
  for (std::size_t t = 1; t < wanted; ++t) {
    try {
      helpers.emplace_back(worker);
    } catch (const std::system_error&) {  // no more threads to be had: fewer do it all
      break;
    }
  }
  worker();
  for (std::thread& t : helpers) t.join();
  if (failure) std::rethrow_exception(failure);
}

unsigned hardware_jobs() noexcept {
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace poolcert
