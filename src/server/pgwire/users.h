#pragma once

// Gateway users: a name, a SCRAM-SHA-256 verifier and read grants. A grant is a
// `schema.table` pattern where `*` matches any run of characters within its part
// ("public.*", "sales.orders", "*.*"). Plain values; thread-compatible.

#include <string>
#include <string_view>
#include <vector>

#include "server/pgwire/scram.h"

namespace freshet::server::pgwire {

struct User {
  std::string name;
  ScramVerifier verifier;
  std::vector<std::string> grants;
};

// Whether one grant pattern matches `schema`.`table` (case-insensitive, as unquoted SQL
// identifiers are).
bool GrantMatches(std::string_view pattern, std::string_view schema, std::string_view table);
bool IsGranted(const std::vector<std::string>& grants, std::string_view schema,
               std::string_view table);

// InvalidArgument unless `pattern` has exactly one dot and no empty part.
Status ValidateGrant(std::string_view pattern);

}  // namespace freshet::server::pgwire
