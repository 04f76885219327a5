#pragma once

// FRESHET_CHECK(cond) << "context": aborts the process when a programmer's invariant breaks.
// A broken invariant is a bug, not a Status; never CHECK user input or data from the network.

#include <sstream>

namespace freshet::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace freshet::internal

#define FRESHET_CHECK(condition) \
  if (condition) {               \
  } else                         \
    ::freshet::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()
