// The outermost frame of a program: whatever escapes its body on the main
// thread (a thread that cannot start, std::bad_alloc) ends the process with
// one line on stderr and exit code 1, not std::terminate's abort and core
// dump. Exceptions on other threads are not caught here.
#pragma once

namespace ferry {

// Returns body(argc, argv), or 1 after printing "PROGRAM: fatal: WHAT".
int run_guarded(const char* program, int (*body)(int, char**), int argc, char** argv) noexcept;

}  // namespace ferry
