#include "crypto/noise/pattern.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace ferry::crypto::noise {
namespace {

struct PatternRow {
  std::string_view name;
  // The spec's notation, one line per (pre-)message, ';' between lines.
  std::string_view text;
};

// Noise rev 34: one-way patterns (7.4), fundamental interactive patterns
// (7.5) and deferred patterns (18.1), copied from the spec's tables.
constexpr std::array<PatternRow, 38> kPatterns{{
    {"N", "<- s; ...; -> e, es"},
    {"K", "-> s; <- s; ...; -> e, es, ss"},
    {"X", "<- s; ...; -> e, es, s, ss"},
    {"NN", "-> e; <- e, ee"},
    {"KN", "-> s; ...; -> e; <- e, ee, se"},
    {"NK", "<- s; ...; -> e, es; <- e, ee"},
    {"KK", "-> s; <- s; ...; -> e, es, ss; <- e, ee, se"},
    {"NX", "-> e; <- e, ee, s, es"},
    {"KX", "-> s; ...; -> e; <- e, ee, se, s, es"},
    {"XN", "-> e; <- e, ee; -> s, se"},
    {"IN", "-> e, s; <- e, ee, se"},
    {"XK", "<- s; ...; -> e, es; <- e, ee; -> s, se"},
    {"IK", "<- s; ...; -> e, es, s, ss; <- e, ee, se"},
    {"XX", "-> e; <- e, ee, s, es; -> s, se"},
    {"IX", "-> e, s; <- e, ee, se, s, es"},
    {"NK1", "<- s; ...; -> e; <- e, ee, es"},
    {"NX1", "-> e; <- e, ee, s; -> es"},
    {"X1N", "-> e; <- e, ee; -> s; <- se"},
    {"X1K", "<- s; ...; -> e, es; <- e, ee; -> s; <- se"},
    {"XK1", "<- s; ...; -> e; <- e, ee, es; -> s, se"},
    {"X1K1", "<- s; ...; -> e; <- e, ee, es; -> s; <- se"},
    {"X1X", "-> e; <- e, ee, s, es; -> s; <- se"},
    {"XX1", "-> e; <- e, ee, s; -> es, s, se"},
    {"X1X1", "-> e; <- e, ee, s; -> es, s; <- se"},
    {"K1N", "-> s; ...; -> e; <- e, ee; -> se"},
    {"K1K", "-> s; <- s; ...; -> e, es; <- e, ee; -> se"},
    {"KK1", "-> s; <- s; ...; -> e; <- e, ee, se, es"},
    {"K1K1", "-> s; <- s; ...; -> e; <- e, ee, es; -> se"},
    {"K1X", "-> s; ...; -> e; <- e, ee, s, es; -> se"},
    {"KX1", "-> s; ...; -> e; <- e, ee, se, s; -> es"},
    {"K1X1", "-> s; ...; -> e; <- e, ee, s; -> se, es"},
    {"I1N", "-> e, s; <- e, ee; -> se"},
    {"I1K", "<- s; ...; -> e, es, s; <- e, ee; -> se"},
    {"IK1", "<- s; ...; -> e, s; <- e, ee, se, es"},
    {"I1K1", "<- s; ...; -> e, s; <- e, ee, es; -> se"},
    {"I1X", "-> e, s; <- e, ee, s, es; -> se"},
    {"IX1", "-> e, s; <- e, ee, se, s; -> es"},
    {"I1X1", "-> e, s; <- e, ee, s; -> se, es"},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::optional<Token> token_from(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, Token>, 7> kNames{{{"e", Token::e},
                                                                             {"s", Token::s},
                                                                             {"ee", Token::ee},
                                                                             {"es", Token::es},
                                                                             {"se", Token::se},
                                                                             {"ss", Token::ss},
                                                                             {"psk", Token::psk}}};
  for (auto& [name, t] : kNames) {
    if (name == s) return t;
  }
  return std::nullopt;
}

// Parses "-> e, es" into (from_initiator, tokens).
bool parse_line(std::string_view line, bool& from_initiator, std::vector<Token>& tokens) {
  line = trim(line);
  if (line.starts_with("->")) {
    from_initiator = true;
  } else if (line.starts_with("<-")) {
    from_initiator = false;
  } else {
    return false;
  }
  line.remove_prefix(2);
  tokens.clear();
  while (!line.empty()) {
    size_t comma = line.find(',');
    auto t = token_from(trim(line.substr(0, comma)));
    if (!t) return false;
    tokens.push_back(*t);
    line = comma == std::string_view::npos ? std::string_view{} : line.substr(comma + 1);
  }
  return !tokens.empty();
}

std::optional<HandshakePattern> parse_row(const PatternRow& row) {
  HandshakePattern p;
  p.name = std::string(row.name);
  bool pre = row.text.find("...") != std::string_view::npos;
  std::string_view text = row.text;
  while (!text.empty()) {
    size_t semi = text.find(';');
    std::string_view line = trim(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    if (line == "...") {
      pre = false;
      continue;
    }
    bool from_initiator = false;
    std::vector<Token> tokens;
    if (!parse_line(line, from_initiator, tokens)) return std::nullopt;
    if (pre) {
      (from_initiator ? p.initiator_premessage : p.responder_premessage) = tokens;
    } else {
      // Messages alternate, starting with the initiator.
      if (from_initiator != (p.messages.size() % 2 == 0)) return std::nullopt;
      p.messages.push_back(tokens);
    }
  }
  return p;
}

bool valid_premessage(const std::vector<Token>& pre) {
  return pre.empty() || pre == std::vector<Token>{Token::e} ||
         pre == std::vector<Token>{Token::s} || pre == std::vector<Token>{Token::e, Token::s};
}

Token swap_dh(Token t) {
  if (t == Token::es) return Token::se;
  if (t == Token::se) return Token::es;
  return t;
}

// Section 10.2: Alice's first message becomes her pre-message and Bob, who
// sent the second message, becomes the initiator. In initiator-relative
// tokens that swaps the parties, so "es" and "se" trade places.
Result<void> apply_fallback(HandshakePattern& p) {
  if (p.messages.size() < 2)
    return make_error(Errc::unsupported, "fallback needs an interactive pattern");
  std::vector<Token> alice = p.initiator_premessage;
  alice.insert(alice.end(), p.messages[0].begin(), p.messages[0].end());
  if (!valid_premessage(alice)) {
    return make_error(Errc::unsupported, "fallback: first message cannot be a pre-message");
  }
  HandshakePattern out;
  out.name = p.name;
  out.psk_mode = p.psk_mode;
  out.initiator_premessage = p.responder_premessage;
  out.responder_premessage = alice;
  for (size_t i = 1; i < p.messages.size(); ++i) {
    std::vector<Token> m;
    for (Token t : p.messages[i]) m.push_back(swap_dh(t));
    out.messages.push_back(std::move(m));
  }
  p = std::move(out);
  return {};
}

Result<void> apply_psk(HandshakePattern& p, std::string_view digits) {
  if (digits.empty() || digits.size() > 2 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return make_error(Errc::unsupported, "unknown pattern modifier");
  }
  size_t n = 0;
  for (char c : digits) n = n * 10 + static_cast<size_t>(c - '0');
  if (n > p.messages.size())
    return make_error(Errc::unsupported, "psk modifier beyond the last message");
  if (n == 0) {
    p.messages[0].insert(p.messages[0].begin(), Token::psk);
  } else {
    p.messages[n - 1].push_back(Token::psk);
  }
  p.psk_mode = true;
  return {};
}

}  // namespace

std::string_view to_string(Token t) {
  switch (t) {
    case Token::e:
      return "e";
    case Token::s:
      return "s";
    case Token::ee:
      return "ee";
    case Token::es:
      return "es";
    case Token::se:
      return "se";
    case Token::ss:
      return "ss";
    case Token::psk:
      return "psk";
  }
  return "?";
}

size_t HandshakePattern::psk_count() const {
  size_t n = 0;
  for (const auto& m : messages)
    n += static_cast<size_t>(std::count(m.begin(), m.end(), Token::psk));
  return n;
}

std::vector<std::string_view> base_pattern_names() {
  std::vector<std::string_view> out;
  out.reserve(std::size(kPatterns));
  for (const auto& row : kPatterns) out.push_back(row.name);
  return out;
}

Result<HandshakePattern> pattern_from_name(std::string_view section) {
  if (section.empty() || section.size() > 64)
    return make_error(Errc::malformed, "bad pattern name");
  size_t base_end = 0;
  while (base_end < section.size() &&
         (std::isupper(static_cast<unsigned char>(section[base_end])) ||
          std::isdigit(static_cast<unsigned char>(section[base_end])))) {
    ++base_end;
  }
  std::string_view base = section.substr(0, base_end);
  const PatternRow* row = nullptr;
  for (const auto& r : kPatterns) {
    if (r.name == base) row = &r;
  }
  if (row == nullptr) return make_error(Errc::unsupported, "unknown handshake pattern");
  auto parsed = parse_row(*row);
  if (!parsed) return make_error(Errc::internal, "pattern table entry does not parse");
  HandshakePattern p = std::move(*parsed);
  p.name = std::string(section);

  std::string_view mods = section.substr(base_end);
  std::vector<std::string_view> seen;
  while (!mods.empty()) {
    size_t plus = mods.find('+');
    std::string_view mod = mods.substr(0, plus);
    if (plus != std::string_view::npos && plus + 1 == mods.size()) {
      return make_error(Errc::malformed, "empty pattern modifier");
    }
    mods = plus == std::string_view::npos ? std::string_view{} : mods.substr(plus + 1);
    if (mod.empty()) return make_error(Errc::malformed, "empty pattern modifier");
    if (std::find(seen.begin(), seen.end(), mod) != seen.end()) {
      return make_error(Errc::malformed, "repeated pattern modifier");
    }
    seen.push_back(mod);
    Result<void> r;
    if (mod == "fallback") {
      r = apply_fallback(p);
    } else if (mod.starts_with("psk")) {
      r = apply_psk(p, mod.substr(3));
    } else {
      r = make_error(Errc::unsupported, "unknown pattern modifier");
    }
    if (!r) return r.error();
  }
  auto valid = validate_pattern(p);
  if (!valid) return valid.error();
  return p;
}

Result<void> validate_pattern(const HandshakePattern& p) {
  if (p.messages.empty()) return make_error(Errc::malformed, "pattern has no messages");
  if (!valid_premessage(p.initiator_premessage) || !valid_premessage(p.responder_premessage)) {
    return make_error(Errc::malformed, "invalid pre-message pattern");
  }
  // Keys each party has sent (index 0: initiator, 1: responder).
  bool sent_e[2] = {false, false}, sent_s[2] = {false, false};
  auto send_key = [&](int party, Token t) {
    bool& flag = t == Token::e ? sent_e[party] : sent_s[party];
    if (flag) return false;  // rule 2: at most once per party
    flag = true;
    return true;
  };
  for (Token t : p.initiator_premessage) send_key(0, t);
  for (Token t : p.responder_premessage) send_key(1, t);

  bool done[4] = {false, false, false, false};  // ee, es, se, ss
  bool psk_seen = false;
  for (size_t i = 0; i < p.messages.size(); ++i) {
    int party = static_cast<int>(i % 2);
    for (Token t : p.messages[i]) {
      switch (t) {
        case Token::e:
        case Token::s:
          if (!send_key(party, t)) return make_error(Errc::malformed, "key sent twice");
          if (t == Token::s && psk_seen && !sent_e[party]) {
            return make_error(Errc::malformed, "encryption after psk without an ephemeral");
          }
          break;
        case Token::psk:
          psk_seen = true;
          break;
        default: {
          // Rule 1: both keys must be known; rule 3: each DH once.
          bool init_e = t == Token::ee || t == Token::es;
          bool resp_e = t == Token::ee || t == Token::se;
          bool have = (init_e ? sent_e[0] : sent_s[0]) && (resp_e ? sent_e[1] : sent_s[1]);
          if (!have) return make_error(Errc::malformed, "DH with a key not yet sent");
          int idx = static_cast<int>(t) - static_cast<int>(Token::ee);
          if (done[idx]) return make_error(Errc::malformed, "DH performed twice");
          done[idx] = true;
        }
      }
    }
    // The payload is encrypted once a PSK has been mixed in.
    if (psk_seen && !sent_e[party]) {
      return make_error(Errc::malformed, "encryption after psk without an ephemeral");
    }
  }
  return {};
}

}  // namespace ferry::crypto::noise
