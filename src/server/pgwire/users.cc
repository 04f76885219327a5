#include "server/pgwire/users.h"

#include "common/glob.h"

namespace freshet::server::pgwire {
bool GrantMatches(std::string_view pattern, std::string_view schema, std::string_view table) {
  size_t dot = pattern.find('.');
  if (dot == std::string_view::npos) return false;
  // Grants fold case and know only `*`, so a `?` in a grant never widens it.
  constexpr GlobOptions kGrantGlob{.ignore_case = true, .question_mark = false};
  return MatchesGlob(pattern.substr(0, dot), schema, kGrantGlob) &&
         MatchesGlob(pattern.substr(dot + 1), table, kGrantGlob);
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
