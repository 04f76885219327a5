#include "server/pgwire/users.h"

#include <cctype>

namespace freshet::server::pgwire {
namespace {

bool Glob(std::string_view pattern, std::string_view text) {
  // Iterative matcher with backtracking to the last '*'.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t resume = 0;
  auto eq = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && eq(pattern[p], text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool GrantMatches(std::string_view pattern, std::string_view schema, std::string_view table) {
  size_t dot = pattern.find('.');
  if (dot == std::string_view::npos) return false;
  return Glob(pattern.substr(0, dot), schema) && Glob(pattern.substr(dot + 1), table);
}

bool IsGranted(const std::vector<std::string>& grants, std::string_view schema,
               std::string_view table) {
  for (const auto& grant : grants) {
    if (GrantMatches(grant, schema, table)) return true;
  }
  return false;
}

Status ValidateGrant(std::string_view pattern) {
  size_t dot = pattern.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == pattern.size() ||
      pattern.find('.', dot + 1) != std::string_view::npos) {
    return Status::InvalidArgument(
        "grant \"{}\" is not a schema.table pattern (examples: public.*, sales.orders, *.*)",
        pattern);
  }
  return Status::Ok();
}

}  // namespace freshet::server::pgwire
