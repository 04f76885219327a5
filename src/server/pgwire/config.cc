#include "server/pgwire/config.h"

#include <charconv>

namespace freshet::server::pgwire {
namespace {

std::string Resolve(const std::filesystem::path& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  return p.is_absolute() ? path : (base_dir / p).lexically_normal().string();
}

Status ParseListen(const ConfigNode& node, ServerOptions* options) {
  FRESHET_ASSIGN_OR_RETURN(std::string listen, node.AsString());
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return node.Error("expected host:port (for example 127.0.0.1:5433), got '{}'", listen);
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  std::string_view port_text(listen.data() + colon + 1, listen.size() - colon - 1);
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return node.Error("port must be a number from 0 to 65535, got '{}'", port_text);
  }
  options->host = host;
  options->port = static_cast<uint16_t>(port);
  return Status::Ok();
}

Result<User> ParseUser(const ConfigNode& node) {
  FRESHET_RETURN_IF_ERROR(node.CheckKeys({"name", "password", "grants"}));
  User user;
  FRESHET_ASSIGN_OR_RETURN(ConfigNode name, node.Get("name"));
  FRESHET_ASSIGN_OR_RETURN(user.name, name.AsString());
  if (user.name.empty()) return name.Error("user name must not be empty");
  FRESHET_ASSIGN_OR_RETURN(ConfigNode password, node.Get("password"));
  FRESHET_ASSIGN_OR_RETURN(std::string verifier, password.AsString());
  auto parsed = ScramVerifier::Parse(verifier);
  if (!parsed.ok()) return password.Error("{}", parsed.status().message());
  user.verifier = *parsed;
  if (auto grants = node.Find("grants")) {
    FRESHET_ASSIGN_OR_RETURN(user.grants, grants->AsStringList());
    for (const auto& grant : user.grants) {
      Status valid = ValidateGrant(grant);
      if (!valid.ok()) return grants->Error("{}", valid.message());
    }
  }
  return user;
}

Result<TableEntry> ParseTable(const ConfigNode& node, const std::filesystem::path& base_dir) {
  FRESHET_RETURN_IF_ERROR(node.CheckKeys({"name", "files"}));
  FRESHET_ASSIGN_OR_RETURN(ConfigNode name_node, node.Get("name"));
  FRESHET_ASSIGN_OR_RETURN(std::string name, name_node.AsString());
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size() ||
      name.find('.', dot + 1) != std::string::npos) {
    return name_node.Error("expected schema.table, got '{}'", name);
  }
  FRESHET_ASSIGN_OR_RETURN(ConfigNode files_node, node.Get("files"));
  FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> files, files_node.AsStringList());
  if (files.empty()) return files_node.Error("a table needs at least one Parquet file");
  for (auto& file : files) file = Resolve(base_dir, file);
  StaticTableCatalog catalog;
  catalog.AddParquetTable(name.substr(0, dot), name.substr(dot + 1), files);
  FRESHET_ASSIGN_OR_RETURN(auto tables, catalog.ListTables());
  return tables.front();
}

}  // namespace

Result<PgwireConfig> LoadPgwireConfig(const ConfigNode& pgwire,
                                      const std::filesystem::path& base_dir) {
  FRESHET_RETURN_IF_ERROR(
      pgwire.CheckKeys({"listen", "tls", "users", "statement_timeout", "session_memory_limit",
                        "session_threads", "max_connections", "tables", "lake_roots"}));
  PgwireConfig config;
  ServerOptions& options = config.options;
  if (auto listen = pgwire.Find("listen")) FRESHET_RETURN_IF_ERROR(ParseListen(*listen, &options));
  if (auto tls = pgwire.Find("tls"); tls && !tls->IsNull()) {
    FRESHET_RETURN_IF_ERROR(tls->CheckKeys({"cert", "key", "cleartext_password"}));
    FRESHET_ASSIGN_OR_RETURN(ConfigNode cert, tls->Get("cert"));
    FRESHET_ASSIGN_OR_RETURN(ConfigNode key, tls->Get("key"));
    FRESHET_ASSIGN_OR_RETURN(std::string cert_path, cert.AsString());
    FRESHET_ASSIGN_OR_RETURN(std::string key_path, key.AsString());
    FRESHET_ASSIGN_OR_RETURN(bool cleartext, tls->GetBool("cleartext_password", false));
    options.tls = TlsFiles{Resolve(base_dir, cert_path), Resolve(base_dir, key_path), cleartext};
  }
  FRESHET_ASSIGN_OR_RETURN(ConfigNode users, pgwire.Get("users"));
  FRESHET_ASSIGN_OR_RETURN(std::vector<ConfigNode> user_nodes, users.Items());
  for (const auto& node : user_nodes) {
    FRESHET_ASSIGN_OR_RETURN(User user, ParseUser(node));
    for (const auto& existing : options.users) {
      if (existing.name == user.name) return node.Error("user '{}' is listed twice", user.name);
    }
    options.users.push_back(std::move(user));
  }
  if (options.users.empty()) return users.Error("list at least one user");
  FRESHET_ASSIGN_OR_RETURN(options.statement_timeout,
                           pgwire.GetDuration("statement_timeout", options.statement_timeout));
  FRESHET_ASSIGN_OR_RETURN(
      options.session.memory_limit_bytes,
      pgwire.GetByteSize("session_memory_limit", options.session.memory_limit_bytes));
  FRESHET_ASSIGN_OR_RETURN(int64_t threads,
                           pgwire.GetInt("session_threads", options.session.threads));
  if (threads < 1 || threads > 256) {
    return pgwire.Find("session_threads")->Error("expected 1 to 256 threads");
  }
  options.session.threads = static_cast<int>(threads);
  FRESHET_ASSIGN_OR_RETURN(int64_t max_connections,
                           pgwire.GetInt("max_connections", options.max_connections));
  if (max_connections < 1) return pgwire.Find("max_connections")->Error("expected at least 1");
  options.max_connections = static_cast<int>(max_connections);
  if (auto tables = pgwire.Find("tables")) {
    FRESHET_ASSIGN_OR_RETURN(std::vector<ConfigNode> table_nodes, tables->Items());
    for (const auto& node : table_nodes) {
      FRESHET_ASSIGN_OR_RETURN(TableEntry table, ParseTable(node, base_dir));
      config.tables.push_back(std::move(table));
    }
  }
  if (auto roots = pgwire.Find("lake_roots")) {
    FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> folders, roots->AsStringList());
    for (const auto& folder : folders) {
      if (folder.empty()) return roots->Error("a lake root must not be empty");
      config.lake_roots.push_back(
          std::filesystem::absolute(Resolve(base_dir, folder)).lexically_normal().string());
    }
  }
  return config;
}

}  // namespace freshet::server::pgwire
