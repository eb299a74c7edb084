#include "crypto/vectors/json.h"

#include <cstdlib>

namespace ferry::crypto::json {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Value> document() {
    Value v;
    auto r = value(v, 0);
    if (!r) return r.error();
    skip_ws();
    if (pos_ != s_.size()) return fail("trailing bytes after the JSON value");
    return v;
  }

 private:
  static Error fail(std::string_view why) { return make_error(Errc::malformed, why); }

  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Result<void> value(Value& out, size_t depth) {
    if (depth > kMaxDepth) return fail("JSON nested too deeply");
    skip_ws();
    if (pos_ >= s_.size()) return fail("unexpected end of JSON");
    char c = s_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out.type = Value::Type::string;
      return string(out.string);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    if (literal("true")) {
      out.type = Value::Type::boolean;
      out.boolean = true;
      return {};
    }
    if (literal("false")) {
      out.type = Value::Type::boolean;
      return {};
    }
    if (literal("null")) {
      out.type = Value::Type::null;
      return {};
    }
    return fail("unexpected character in JSON");
  }

  Result<void> object(Value& out, size_t depth) {
    out.type = Value::Type::object;
    ++pos_;  // '{'
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return {};
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected an object key");
      std::string key;
      auto r = string(key);
      if (!r) return r;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      Value v;
      r = value(v, depth + 1);
      if (!r) return r;
      out.object.push_back(Member{std::move(key), std::move(v)});
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return {};
      }
      return fail("expected ',' or '}'");
    }
  }

  Result<void> array(Value& out, size_t depth) {
    out.type = Value::Type::array;
    ++pos_;  // '['
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return {};
    }
    for (;;) {
      Value v;
      auto r = value(v, depth + 1);
      if (!r) return r;
      out.array.push_back(std::move(v));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return {};
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t& v) {
    if (s_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  Result<void> escape(std::string& out) {
    if (pos_ >= s_.size()) return fail("unterminated escape");
    char c = s_[pos_++];
    switch (c) {
      case '"':
        out.push_back('"');
        return {};
      case '\\':
        out.push_back('\\');
        return {};
      case '/':
        out.push_back('/');
        return {};
      case 'b':
        out.push_back('\b');
        return {};
      case 'f':
        out.push_back('\f');
        return {};
      case 'n':
        out.push_back('\n');
        return {};
      case 'r':
        out.push_back('\r');
        return {};
      case 't':
        out.push_back('\t');
        return {};
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(cp)) return fail("bad \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo = 0;
          if (!literal("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) {
            return fail("lone high surrogate");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        append_utf8(out, cp);
        return {};
      }
      default:
        return fail("unknown escape");
    }
  }

  Result<void> string(std::string& out) {
    ++pos_;  // '"'
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return {};
      if (c == '\\') {
        auto r = escape(out);
        if (!r) return r;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return fail("control character in string");
      } else {
        out.push_back(c);
      }
    }
    return fail("unterminated string");
  }

  Result<void> number(Value& out) {
    size_t start = pos_;
    auto digits = [&] {
      size_t n = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        ++pos_;
        ++n;
      }
      return n;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return fail("bad number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return fail("bad number fraction");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return fail("bad number exponent");
    }
    std::string text(s_.substr(start, pos_ - start));
    out.type = Value::Type::number;
    out.number = std::strtod(text.c_str(), nullptr);
    return {};
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

const Value* Value::find(std::string_view key) const {
  for (const auto& m : object) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

Result<Value> parse(std::string_view text) {
  return Parser(text).document();
}

}  // namespace ferry::crypto::json
