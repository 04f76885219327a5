#include "common/glob.h"

#include <cctype>

namespace freshet {

bool MatchesGlob(std::string_view pattern, std::string_view text, GlobOptions options) {
  auto same = [&](char pattern_char, char text_char) {
    if (options.question_mark && pattern_char == '?') return true;
    if (!options.ignore_case) return pattern_char == text_char;
    return std::tolower(static_cast<unsigned char>(pattern_char)) ==
           std::tolower(static_cast<unsigned char>(text_char));
  };
  // Iterative match, backtracking to the last '*': linear space, no recursion.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && same(pattern[p], text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace freshet
