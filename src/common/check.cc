#include "common/check.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace freshet::internal {

CheckFailure::CheckFailure(const char* file, int line, const char* condition) {
  stream_ << file << ":" << line << ": check failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  std::string text = stream_.str();
  std::fprintf(stderr, "freshet: %s\n", text.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace freshet::internal
