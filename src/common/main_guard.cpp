#include "common/main_guard.h"

#include <cstdio>
#include <exception>

namespace ferry {

int run_guarded(const char* program, int (*body)(int, char**), int argc, char** argv) noexcept {
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "%s: fatal: %s\n", program, e.what());
  } catch (...) {
    (void)std::fprintf(stderr, "%s: fatal: unknown exception\n", program);
  }
  return 1;
}

}  // namespace ferry
