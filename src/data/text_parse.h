// Strict number parsing and small text helpers shared by the CSV and LIBSVM readers (internal).
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace rkhs::data::detail {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// One leading '+' is accepted (std::from_chars does not), but not "+-1" or "+".
inline std::string_view strip_plus(std::string_view s) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  return s;
}

enum class Parse { ok, not_a_number, out_of_range };

// The whole of s must be one number ("1.5abc" is not); T is double or int64_t.
template <typename T>
inline Parse parse_number(std::string_view s, T& out) {
  s = strip_plus(s);
  if (s.empty()) return Parse::not_a_number;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ec == std::errc::result_out_of_range) return Parse::out_of_range;
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return Parse::not_a_number;
  return Parse::ok;
}

inline Parse parse_double(std::string_view s, double& out) { return parse_number(s, out); }
inline Parse parse_int(std::string_view s, int64_t& out) { return parse_number(s, out); }

// Quoted for messages, shortened to 40 characters.
inline std::string quote(std::string_view s) {
  std::string q(s.substr(0, 40));
  if (s.size() > 40) q += "...";
  return "'" + q + "'";
}

}  // namespace rkhs::data::detail
