#include "cli/password.h"

#include <cstdlib>
#include <fstream>

namespace freshet::cli {

Result<std::optional<std::string>> ReadPassword(const std::optional<std::string>& password_file) {
  if (password_file) {
    std::ifstream in(*password_file);
    if (!in) {
      return Status::NotFound("cannot read password file {}: it does not exist or is not readable",
                              *password_file);
    }
    std::string password;
    std::getline(in, password);
    return std::optional<std::string>(password);
  }
  if (const char* env = std::getenv("FRESHET_PASSWORD"); env != nullptr) {
    return std::optional<std::string>(env);
  }
  return std::optional<std::string>();
}

}  // namespace freshet::cli
