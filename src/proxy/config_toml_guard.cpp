// A small scanner that follows TOML's token boundaries the way toml++ does, so
// non-ASCII text that toml++ 3.3 would mishandle is refused before it is
// parsed (see config_text.h).
//
// toml++ tests a character for whitespace wherever it stands between tokens,
// inside bare keys, and inside bare values: a bare value (number, date,
// boolean) runs until whitespace , ] } or #, *through* quotes, '=' and '['.
// So a quote opens a string only where a key or a value starts; everywhere
// else the scanner treats it as plain text and keeps checking. Where it is
// unsure it checks: the worst it does is refuse a file toml++ would refuse
// anyway, or (never in a valid proxy config) a non-ASCII quoted key.
#include <cstdint>
#include <vector>

#include "proxy/config_text.h"

namespace ferry::proxy::text {
namespace {

bool is_ascii(char c) {
  return static_cast<unsigned char>(c) < 0x80;
}
bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}
bool is_bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
// Where toml++ ends a bare value (its is_value_terminator, ASCII part).
bool ends_bare_value(char c) {
  return is_space(c) || c == '\n' || c == ',' || c == ']' || c == '}' || c == '#';
}

constexpr std::string_view kOutside = "non-ASCII text is allowed only in strings and comments";
constexpr std::string_view kAfterBackslash =
    "a line-ending backslash in a multi-line string must be followed by ASCII text";

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  std::optional<Position> run() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (!is_ascii(c)) return here(kOutside);
      if (c == '\n') {
        if (nesting_.empty()) mode_ = Mode::key;  // a new line starts a new key
        step(1);
      } else if (is_space(c)) {
        step(1);
      } else if (c == '#') {
        skip_comment();
      } else if (auto p = token(c)) {
        return p;
      }
    }
    return std::nullopt;
  }

 private:
  enum class Mode : uint8_t { key, value, after_value };

  // One token at a boundary, by what the parser expects there.
  std::optional<Position> token(char c) {
    switch (mode_) {
      case Mode::key:
        if (c == '"' || c == '\'') return string();
        if (is_bare_key_char(c)) {
          while (i_ < s_.size() && is_bare_key_char(s_[i_])) step(1);
          return std::nullopt;
        }
        if (c == '=') mode_ = Mode::value;
        if (c == ']' && nesting_.empty()) mode_ = Mode::after_value;  // end of a [table] header
        if (c == '}') close('{');
        step(1);
        return std::nullopt;
      case Mode::value:
        if (c == '"' || c == '\'') {
          mode_ = Mode::after_value;
          return string();
        }
        if (c == '[' || c == '{') {
          nesting_.push_back(c);
          mode_ = c == '[' ? Mode::value : Mode::key;
          step(1);
          return std::nullopt;
        }
        if (c == ']' || c == '}') {
          close(c == ']' ? '[' : '{');
          step(1);
          return std::nullopt;
        }
        return bare_value();
      case Mode::after_value:
        if (c == ',') {
          mode_ = !nesting_.empty() && nesting_.back() == '{' ? Mode::key : Mode::value;
          step(1);
          return std::nullopt;
        }
        if (c == ']' || c == '}') {
          close(c == ']' ? '[' : '{');
          step(1);
          return std::nullopt;
        }
        // toml++ refuses anything else here; check it like a bare value.
        return bare_value();
    }
    return std::nullopt;
  }

  void close(char opener) {
    if (!nesting_.empty() && nesting_.back() == opener) nesting_.pop_back();
    mode_ = Mode::after_value;
  }

  std::optional<Position> bare_value() {
    while (i_ < s_.size() && !ends_bare_value(s_[i_])) {
      if (!is_ascii(s_[i_])) return here(kOutside);
      step(1);
    }
    mode_ = Mode::after_value;
    return std::nullopt;
  }

  std::optional<Position> string() {
    if (starts_with("\"\"\"")) {
      step(3);
      return multi_line_basic();
    }
    if (starts_with("'''")) {
      step(3);
      multi_line_literal();
      return std::nullopt;
    }
    single_line(s_[i_]);
    return std::nullopt;
  }

  bool starts_with(std::string_view p) const { return s_.substr(i_).starts_with(p); }

  Position here(std::string_view why) const { return {line_, column_, why}; }

  void step(size_t n) {
    for (size_t k = 0; k < n && i_ < s_.size(); ++k, ++i_) {
      if (s_[i_] == '\n') {
        ++line_;
        column_ = 1;
      } else if (!is_continuation(s_[i_])) {
        ++column_;
      }
    }
  }

  void skip_comment() {
    while (i_ < s_.size() && s_[i_] != '\n') step(1);
  }

  // A closing delimiter may carry one or two quotes of content before it.
  void close_quotes(char quote) {
    size_t n = 0;
    while (i_ + n < s_.size() && s_[i_ + n] == quote) ++n;
    step(n);
  }

  // "..." or '...': ends at its quote, or (an error for toml++) the line end.
  void single_line(char quote) {
    step(1);
    while (i_ < s_.size() && s_[i_] != '\n') {
      if (quote == '"' && s_[i_] == '\\') {
        step(1);
        if (i_ < s_.size() && s_[i_] != '\n') step(1);
        continue;
      }
      bool end = s_[i_] == quote;
      step(1);
      if (end) return;
    }
  }

  std::optional<Position> multi_line_basic() {
    while (i_ < s_.size()) {
      if (starts_with("\"\"\"")) {
        close_quotes('"');
        return std::nullopt;
      }
      if (s_[i_] != '\\') {
        step(1);
        continue;
      }
      step(1);
      if (i_ >= s_.size()) return std::nullopt;
      if (!is_ascii(s_[i_])) return here(kAfterBackslash);
      if (!is_space(s_[i_]) && s_[i_] != '\n') {
        step(1);  // an ordinary escape: \n, \", \\, \uXXXX (its digits are ASCII)
        continue;
      }
      // A line-ending backslash: toml++ tests the first character after the
      // whitespace it skips.
      while (i_ < s_.size() && (is_space(s_[i_]) || s_[i_] == '\n')) step(1);
      if (i_ < s_.size() && !is_ascii(s_[i_])) return here(kAfterBackslash);
    }
    return std::nullopt;
  }

  void multi_line_literal() {
    while (i_ < s_.size()) {
      if (starts_with("'''")) {
        close_quotes('\'');
        return;
      }
      step(1);
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  int line_ = 1;
  int column_ = 1;
  Mode mode_ = Mode::key;
  std::vector<char> nesting_;  // open '[' arrays and '{' inline tables
};

}  // namespace

std::optional<Position> find_non_ascii_toml_cannot_take(std::string_view text) {
  return Scanner(text).run();
}

}  // namespace ferry::proxy::text
