// TOML spelling shared by the parser (dotted keys in error messages) and the
// renderer (values): strings escaped so any text round-trips and no control
// character ever reaches a terminal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::proxy::text {

// A TOML basic string with quotes: "a\"b", control characters as \uXXXX.
std::string quote(std::string_view s);
// A key as TOML would write it: bare when it can be, quoted otherwise.
std::string key(std::string_view k);
// "parent.key" (or "key" at the top level), the key bare or quoted.
std::string join(std::string_view parent, std::string_view k);
// "parent[index]".
std::string index(std::string_view parent, size_t i);

// toml++ 3.3 (Debian's) reaches __builtin_unreachable when it asks whether
// some non-ASCII code points are whitespace (marzer/tomlplusplus#190, #295;
// found by tests/fuzz/config_loader). It asks only about characters outside
// strings and comments, where TOML allows no non-ASCII at all, and about the
// first character after a line-ending backslash in a """multi-line""" string.
// This finds such a byte before toml++ sees it: 1-based line and column.
struct Position {
  int line = 0;
  int column = 0;
  std::string_view why;
};
std::optional<Position> find_non_ascii_toml_cannot_take(std::string_view text);

}  // namespace ferry::proxy::text
