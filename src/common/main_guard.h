// The outermost frame of a program: whatever escapes its body (std::bad_alloc,
// a thread that cannot start) ends the process with one line on stderr and
// exit code 1, not std::terminate's abort and core dump.
#pragma once

namespace ferry {

// Returns body(argc, argv), or 1 after printing "PROGRAM: fatal: WHAT".
int run_guarded(const char* program, int (*body)(int, char**), int argc, char** argv) noexcept;

}  // namespace ferry
