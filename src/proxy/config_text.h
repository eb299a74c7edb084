// TOML spelling shared by the parser (dotted keys in error messages) and the
// renderer (values): strings escaped so any text round-trips and no control
// character ever reaches a terminal.
#pragma once

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

}  // namespace ferry::proxy::text
