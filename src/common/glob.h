#pragma once

// Glob matching for the name patterns of the configuration (pipeline tables and overrides,
// sink tables, gateway grants): `*` matches any run of characters, `?` one character.

#include <string_view>

namespace freshet {

struct GlobOptions {
  bool ignore_case = false;   // ASCII case folding
  bool question_mark = true;  // `?` matches one character; false: it is literal
};

bool MatchesGlob(std::string_view pattern, std::string_view text, GlobOptions options = {});

}  // namespace freshet
