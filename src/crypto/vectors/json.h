// A small, strict JSON (RFC 8259) reader for test-vector files. It is test
// tooling: noise-vectors and the unit tests use it; the protocol never parses
// JSON. Depth is bounded so a hostile file cannot exhaust the stack; memory
// grows with the file (up to about a hundred bytes per value, as in "[0,0,...]"),
// so it reads only files it was pointed at.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/result.h"

namespace ferry::crypto::json {

struct Member;

struct Value {
  enum class Type : uint8_t { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<Member> object;  // in file order

  // The member named `key` of an object, or nullptr.
  const Value* find(std::string_view key) const;
  bool is(Type t) const { return type == t; }
};

struct Member {
  std::string key;
  Value value;
};

inline constexpr size_t kMaxDepth = 64;

// Errc::malformed with a static detail for any deviation from the grammar:
// trailing commas, comments, bad escapes, lone surrogates, trailing bytes.
Result<Value> parse(std::string_view text);

}  // namespace ferry::crypto::json
