// Independent work spread over threads: the one way poolcert does it (csr's keys, verify's
// certificates).
#pragma once

#include <cstddef>
#include <functional>

namespace poolcert {

// parallel_for calls body(i) once for every i in [0, count), on up to `threads` threads, the
// calling thread among them, handing the items out one at a time in index order. It returns once
// every call has returned. When a thread cannot be started, the threads already running (at least
// the calling one) do the rest. When a call throws, no further item is started, and once every
// thread has stopped the exception of the lowest index that threw is rethrown: every item below
// it has run.
void parallel_for(std::size_t count, unsigned threads,
                  const std::function<void(std::size_t)>& body);

// hardware_jobs is the number of threads the machine runs at once, at least 1: the default of
// every --jobs.
unsigned hardware_jobs() noexcept;

}  // namespace poolcert
