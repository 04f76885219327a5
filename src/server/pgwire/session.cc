#include "server/pgwire/session.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <spdlog/spdlog.h>

#include "common/sql_quote.h"
#include "server/pgwire/catalog_emulation.h"
#include "server/pgwire/errors.h"
#include "server/pgwire/table_functions.h"
#include "server/pgwire/types.h"

namespace freshet::server::pgwire {
namespace {

using engine::StatementType;

// Flush rows to the client once this much is buffered, so a large result never sits whole
// in memory.
constexpr size_t kFlushBytes = 64 * 1024;

bool ReturnsRows(StatementType type) {
  return type == StatementType::kSelect || type == StatementType::kExplain ||
         type == StatementType::kPragma;
}

// Statements that change data or the database, refused before DuckDB binds them (binding a
// write against a lake view would fail with a less helpful message).
bool IsWriteKeyword(std::string_view keyword) {
  static constexpr std::string_view kWrites[] = {
      "INSERT",   "UPDATE", "DELETE", "MERGE",      "UPSERT",  "CREATE",  "DROP",   "ALTER",
      "TRUNCATE", "COPY",   "ATTACH", "DETACH",     "LOAD",    "INSTALL", "EXPORT", "IMPORT",
      "GRANT",    "REVOKE", "VACUUM", "CHECKPOINT", "COMMENT", "CALL"};
  for (std::string_view write : kWrites) {
    if (keyword == write) return true;
  }
  return false;
}

bool IsAllowed(StatementType type) {
  return ReturnsRows(type) || type == StatementType::kTransaction || type == StatementType::kSet;
}

std::string TransactionTag(const std::string& keyword) {
  if (keyword == "BEGIN" || keyword == "START") return "BEGIN";
  if (keyword == "COMMIT" || keyword == "END") return "COMMIT";
  if (keyword == "ROLLBACK" || keyword == "ABORT") return "ROLLBACK";
  return keyword;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "Table with name orders does not exist" → "orders".
std::string MissingTableName(std::string_view message) {
  static constexpr std::string_view kBefore = "Table with name ";
  size_t start = message.find(kBefore);
  if (start == std::string_view::npos) return "";
  start += kBefore.size();
  size_t end = message.find(" does not exist", start);
  if (end == std::string_view::npos) return "";
  return std::string(message.substr(start, end - start));
}

// PostgreSQL names an unaliased function call after the function ("count", "version");
// DuckDB after the whole expression ("count_star()", "\"version\"()"). Clients and tools
// read columns by name, so present PostgreSQL's.
std::string ClientColumnName(const std::string& name) {
  size_t paren = name.find('(');
  if (paren == std::string::npos || paren == 0 || name.back() != ')') return name;
  std::string function = name.substr(0, paren);
  if (function.size() > 2 && function.front() == '"' && function.back() == '"') {
    function = function.substr(1, function.size() - 2);
  }
  size_t dot = function.rfind('.');
  if (dot != std::string::npos) function = function.substr(dot + 1);
  for (char c : function) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return name;
  }
  if (function == "count_star") return "count";
  if (function == "list_value") return "array";
  if (function == "struct_pack") return "row";
  return function;
}

// bytea text input: \x followed by hex digits; anything else is taken as raw bytes.
Result<std::string> DecodeByteaText(std::string_view text) {
  if (!text.starts_with("\\x")) return std::string(text);
  text.remove_prefix(2);
  if (text.size() % 2 != 0) return Status::InvalidArgument("Binary Error: odd bytea hex length");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int high = nibble(text[i]);
    int low = nibble(text[i + 1]);
    if (high < 0 || low < 0) return Status::InvalidArgument("Binary Error: invalid bytea hex");
    out.push_back(static_cast<char>(high << 4 | low));
  }
  return out;
}

}  // namespace

struct Session::Statement {
  std::string sql;
  std::string keyword;
  std::optional<ParameterCommand> command;  // answered from SessionParameters
  std::optional<CopyCommand> copy;          // COPY ... TO STDOUT of a query
  bool empty = false;
  bool catalog_fallback = false;  // answered with no rows, see PrepareStatement
  std::optional<engine::PreparedStatement> prepared;
  // Table function arguments are parameters: `query` is rewritten and prepared again at each
  // Bind; DuckDB's parameter k is the client's parameter duckdb_parameters[k] (0-based), as
  // `renumber` maps the client's $n to DuckDB's.
  bool per_bind = false;
  std::string query;
  std::map<int, int> renumber;
  std::vector<size_t> duckdb_parameters;
  StatementType type = StatementType::kOther;
  std::vector<uint32_t> parameter_oids;
  std::vector<std::string> column_names;
  std::vector<engine::ColumnType> column_types;
};

struct Session::Portal {
  std::shared_ptr<Statement> statement;
  std::vector<std::optional<std::string>> parameters;
  std::vector<Format> parameter_formats;
  BindMessage formats;                                // only result_formats are used
  std::optional<engine::PreparedStatement> prepared;  // per_bind statements only
  bool started = false;
  bool finished = false;
  std::optional<engine::RowStream> stream;
  std::vector<engine::Row> rows;
  size_t next_row = 0;
  std::vector<std::string> columns;
  std::vector<engine::ColumnType> types;
  int64_t rows_sent = 0;
  bool returns_rows = false;
  std::string tag;
};

const Session::Dispatch Session::kDispatch[] = {
    {'Q', &Session::OnQuery, false},  {'P', &Session::OnParse, true},
    {'B', &Session::OnBind, true},    {'D', &Session::OnDescribe, true},
    {'E', &Session::OnExecute, true}, {'C', &Session::OnClose, true},
    {'S', &Session::OnSync, false},   {'H', &Session::OnFlush, true},
};

Session::Session(SessionContext context) : context_(std::move(context)) {}
Session::~Session() = default;

char Session::transaction_status() const {
  if (!in_transaction_) return 'I';
  return transaction_failed_ ? 'E' : 'T';
}

Result<bool> Session::Handle(char type, std::string_view body, MessageSink& sink) {
  if (type == 'X') return false;
  for (const Dispatch& entry : kDispatch) {
    if (entry.type != type) continue;
    if (skip_until_sync_ && entry.extended) return true;
    FRESHET_RETURN_IF_ERROR((this->*entry.handler)(body, sink));
    return true;
  }
  return Status::Corruption("unexpected message type '{}' (byte {}) in the query phase",
                            type >= 0x20 && type < 0x7F ? type : '?',
                            static_cast<int>(static_cast<uint8_t>(type)));
}

void Session::SendError(const Status& status, MessageSink& sink) {
  WriteError(sink.out(), ErrorFromStatus(status));
  skip_until_sync_ = true;
  if (in_transaction_) transaction_failed_ = true;
}

void Session::TrackTransaction(const std::string& keyword, bool ok) {
  if (!ok) {
    if (in_transaction_) transaction_failed_ = true;
    return;
  }
  std::string tag = TransactionTag(keyword);
  if (tag == "BEGIN") {
    in_transaction_ = true;
    transaction_failed_ = false;
  } else if (tag == "COMMIT" || tag == "ROLLBACK") {
    // Views replaced inside a transaction that did not commit are back to their old versions.
    if ((tag == "ROLLBACK" || transaction_failed_) && context_.tables != nullptr) {
      context_.tables->Invalidate();
    }
    in_transaction_ = false;
    transaction_failed_ = false;
  }
}

Status Session::RefreshTables() {
  if (context_.tables == nullptr || refreshed_since_sync_) return Status::Ok();
  if (in_transaction_ && !snapshot_changed_) return Status::Ok();
  std::optional<Lsn> lsn;
  auto setting = context_.parameters->Show("freshet.snapshot");
  if (setting.ok() && Lower(*setting) != "latest") {
    auto parsed = Lsn::Parse(*setting);
    if (!parsed.ok())
      return Status::InvalidArgument("Setting Error: {}", parsed.status().message());
    lsn = *parsed;
  }
  Status refreshed = context_.tables->Refresh(*context_.connection, lsn);
  if (!refreshed.ok()) {
    if (refreshed.code() == Code::kInvalidArgument) {
      return Status::InvalidArgument("Setting Error: freshet.snapshot: {}", refreshed.message());
    }
    return refreshed.WithContext("reading the lake's table versions");
  }
  refreshed_since_sync_ = true;
  snapshot_changed_ = false;
  return Status::Ok();
}

Result<std::string> Session::RewriteTableCalls(const std::string& sql, const Portal* portal,
                                               std::map<int, uint32_t>* parameter_oids) {
  if (context_.tables == nullptr) return sql;
  // The text of parameter $n of `portal`.
  auto value = [&](int number) -> Result<std::string> {
    size_t index = static_cast<size_t>(number) - 1;
    if (number < 1 || index >= portal->parameters.size()) {
      return Status::InvalidArgument("Protocol Error: parameter ${} was not bound", number);
    }
    const auto& bytes = portal->parameters[index];
    if (!bytes) {
      return Status::InvalidArgument("Time Travel Error: parameter ${} of a table function is NULL",
                                     number);
    }
    if (portal->parameter_formats[index] == Format::kBinary) {
      return BinaryParameterToText(portal->statement->parameter_oids[index], *bytes);
    }
    return *bytes;
  };
  auto version = [&](int number) -> Result<int64_t> {
    FRESHET_ASSIGN_OR_RETURN(std::string text, value(number));
    int64_t out = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (error != std::errc() || end != text.data() + text.size()) {
      return Status::InvalidArgument("Time Travel Error: parameter ${} is not a version: '{}'",
                                     number, text);
    }
    return out;
  };
  return RewriteTableFunctions(sql, [&](TableFunctionCall call) -> Result<std::string> {
    if (call.HasParameters() && portal == nullptr) {
      // Parse: read the latest version, for the columns; the real one comes at Bind.
      for (auto number : {call.version_parameter, call.from_parameter, call.to_parameter}) {
        if (number) (*parameter_oids)[*number] = oid::kInt8;
      }
      if (call.timestamp_parameter) (*parameter_oids)[*call.timestamp_parameter] = oid::kText;
      if (call.kind == TableFunctionCall::Kind::kTableChanges) {
        call.from = 0;
        call.to = 0;
      }
    } else if (call.HasParameters()) {
      if (call.version_parameter) {
        FRESHET_ASSIGN_OR_RETURN(call.version, version(*call.version_parameter));
      }
      if (call.from_parameter) {
        FRESHET_ASSIGN_OR_RETURN(call.from, version(*call.from_parameter));
      }
      if (call.to_parameter) {
        FRESHET_ASSIGN_OR_RETURN(call.to, version(*call.to_parameter));
      }
      if (call.timestamp_parameter) {
        FRESHET_ASSIGN_OR_RETURN(call.timestamp, value(*call.timestamp_parameter));
      }
    }
    if (call.kind == TableFunctionCall::Kind::kTableChanges) {
      return context_.tables->ChangesQuery(call.table, call.from, call.to);
    }
    AsOf as_of;
    as_of.version = call.version;
    if (call.timestamp) {
      // The session runs in UTC, so a time without a zone is UTC.
      auto millis = context_.connection->Query(
          fmt::format("SELECT epoch_ms(CAST({} AS TIMESTAMPTZ))", QuoteLiteral(*call.timestamp)));
      if (!millis.ok() || millis->rows.size() != 1 || millis->rows[0][0].is_null()) {
        return Status::InvalidArgument(
            "Time Travel Error: table_at(): '{}' is not a timestamp; write e.g. '2026-01-01 "
            "00:00:00+00'",
            *call.timestamp);
      }
      as_of.timestamp_ms = millis->rows[0][0].integer();
    }
    return context_.tables->TableAtQuery(call.table, as_of);
  });
}

Status Session::SetSnapshot() {
  // Checked when set, so that a malformed or expired LSN fails the SET itself; the new
  // versions are applied before the next statement, even inside a transaction.
  snapshot_changed_ = true;
  refreshed_since_sync_ = false;
  if (context_.tables == nullptr) return Status::Ok();
  auto setting = context_.parameters->Show("freshet.snapshot");
  if (!setting.ok() || Lower(*setting) == "latest") return Status::Ok();
  FRESHET_ASSIGN_OR_RETURN(Lsn lsn, Lsn::Parse(*setting));
  Status refreshed = context_.tables->Refresh(*context_.connection, lsn);
  if (refreshed.ok()) refreshed_since_sync_ = true;
  return refreshed;
}

Status Session::MapPrepareError(const Status& status, std::string_view sql) const {
  if (status.code() == Code::kNotFound) {
    std::string missing = Lower(MissingTableName(status.message()));
    if (!missing.empty()) {
      std::string lower_sql = Lower(sql);
      static const std::vector<TableEntry> kNone;
      const auto& denied = context_.tables != nullptr ? context_.tables->denied() : kNone;
      for (const auto& table : denied) {
        if (Lower(table.name) == missing && lower_sql.find(missing) != std::string::npos) {
          return Status::PermissionDenied("Privilege Error: permission denied for table {}.{}",
                                          table.schema, table.name);
        }
      }
    }
  }
  return status;
}

Result<std::shared_ptr<Session::Statement>> Session::PrepareStatement(
    std::string sql, std::vector<uint32_t> parameter_types) {
  auto statement = std::make_shared<Statement>();
  statement->sql = std::move(sql);
  statement->keyword = FirstKeyword(statement->sql);
  if (SplitStatements(statement->sql).empty()) {
    statement->empty = true;
    return statement;
  }
  auto command = ParseParameterCommand(statement->sql);
  if (command && command->kind == ParameterCommand::Kind::kShow && command->name != "all" &&
      !context_.parameters->Knows(command->name)) {
    command.reset();  // DuckDB's own SHOW (SHOW TABLES, SHOW table)
  }
  if (command) {
    statement->command = std::move(command);
    if (statement->command->kind == ParameterCommand::Kind::kShow) {
      engine::ColumnType text{engine::TypeId::kVarchar};
      if (statement->command->name == "all") {
        statement->column_names = {"name", "setting", "description"};
        statement->column_types = {text, text, text};
      } else {
        statement->column_names = {statement->command->name};
        statement->column_types = {text};
      }
    }
    return statement;
  }
  std::string query = statement->sql;
  if (statement->keyword == "COPY") {
    FRESHET_ASSIGN_OR_RETURN(CopyCommand copy, ParseCopyToStdout(statement->sql));
    query = copy.query;
    statement->copy = std::move(copy);
  } else if (IsWriteKeyword(statement->keyword)) {
    return Status::PermissionDenied(
        "Read-only Error: cannot execute {} in a read-only transaction: tables served by "
        "freshet are read-only (changes arrive from the source database)",
        statement->keyword);
  }
  spdlog::debug("pgwire: prepare {}", statement->sql);
  FRESHET_RETURN_IF_ERROR(RefreshTables());
  std::map<int, uint32_t> function_parameters;
  FRESHET_ASSIGN_OR_RETURN(std::string expanded,
                           RewriteTableCalls(query, nullptr, &function_parameters));
  if (!function_parameters.empty()) {
    // DuckDB numbers the parameters left after the rewrite from $1 without gaps.
    statement->per_bind = true;
    statement->query = query;
    for (int number : ParameterNumbers(expanded)) {
      statement->renumber[number] = static_cast<int>(statement->renumber.size()) + 1;
      statement->duckdb_parameters.push_back(static_cast<size_t>(number) - 1);
    }
    expanded = RenumberParameters(expanded, statement->renumber);
  }
  std::string rewritten = RewriteCatalogQuery(expanded);
  auto prepared = context_.connection->Prepare(rewritten);
  if (!prepared.ok() && rewritten != expanded &&
      (prepared.status().message().starts_with("Binder Error") ||
       prepared.status().message().starts_with("Catalog Error"))) {
    // A client's catalog query using PostgreSQL features the emulation lacks (psql's \d
    // footers for publications and statistics): answer with no rows rather than fail the
    // whole command, since lake tables have none of those objects.
    statement->catalog_fallback = true;
    return statement;
  }
  if (!prepared.ok()) return MapPrepareError(prepared.status(), statement->sql);
  statement->type = prepared->statement_type();
  if (!IsAllowed(statement->type)) {
    return Status::PermissionDenied(
        "Read-only Error: cannot execute {} in a read-only transaction: tables served by "
        "freshet are read-only (changes arrive from the source database)",
        engine::StatementTypeName(statement->type));
  }
  auto duckdb_type = [&](size_t i) {
    engine::ColumnType type = prepared->parameter_type(i);
    return type.id == engine::TypeId::kUnknown ? oid::kText : PgTypeFor(type).oid;
  };
  size_t count = prepared->parameter_count();
  if (statement->per_bind) {
    auto all = ParameterNumbers(query);
    count = all.empty() ? 0 : static_cast<size_t>(all.back());
  }
  for (size_t i = 0; i < count; ++i) {
    uint32_t declared = i < parameter_types.size() ? parameter_types[i] : 0;
    if (declared != 0) {
      statement->parameter_oids.push_back(declared);
    } else if (!statement->per_bind) {
      statement->parameter_oids.push_back(duckdb_type(i));
    } else if (auto it = function_parameters.find(static_cast<int>(i) + 1);
               it != function_parameters.end()) {
      statement->parameter_oids.push_back(it->second);
    } else if (auto at = statement->renumber.find(static_cast<int>(i) + 1);
               at != statement->renumber.end()) {
      statement->parameter_oids.push_back(duckdb_type(static_cast<size_t>(at->second) - 1));
    } else {
      statement->parameter_oids.push_back(oid::kText);  // $n the statement never uses
    }
  }
  if (ReturnsRows(statement->type)) {
    statement->column_names = prepared->column_names();
    statement->column_types = prepared->column_types();
  }
  statement->prepared.emplace(std::move(prepared).value());
  return statement;
}

Result<std::unique_ptr<Session::Portal>> Session::BindPortal(std::shared_ptr<Statement> statement,
                                                             const BindMessage& bind) {
  if (bind.parameters.size() != statement->parameter_oids.size()) {
    return Status::InvalidArgument(
        "Protocol Error: bind message supplies {} parameters, but prepared statement \"{}\" "
        "requires {}",
        bind.parameters.size(), bind.statement, statement->parameter_oids.size());
  }
  auto portal = std::make_unique<Portal>();
  portal->statement = std::move(statement);
  portal->parameters = bind.parameters;
  for (size_t i = 0; i < bind.parameters.size(); ++i) {
    portal->parameter_formats.push_back(bind.ParameterFormat(i));
  }
  portal->formats.result_formats = bind.result_formats;
  return portal;
}

Status Session::RunParameterCommand(Portal& portal, MessageSink& sink) {
  const ParameterCommand& command = *portal.statement->command;
  SessionParameters& parameters = *context_.parameters;
  portal.started = true;
  switch (command.kind) {
    case ParameterCommand::Kind::kShow: {
      portal.returns_rows = true;
      portal.columns = portal.statement->column_names;
      portal.types = portal.statement->column_types;
      portal.tag = "SHOW";
      if (command.name == "all") {
        for (auto& [name, value] : parameters.All()) {
          portal.rows.push_back({engine::Value::String(name), engine::Value::String(value),
                                 engine::Value::String("")});
        }
        return Status::Ok();
      }
      auto value = parameters.Show(command.name);
      if (!value.ok()) return Status::NotFound("Parameter Error: {}", value.status().message());
      portal.rows.push_back({engine::Value::String(*value)});
      return Status::Ok();
    }
    case ParameterCommand::Kind::kSet:
    case ParameterCommand::Kind::kReset: {
      bool reset = command.kind == ParameterCommand::Kind::kReset || command.is_default;
      bool snapshot = command.name == "freshet.snapshot" || command.name == "all";
      std::string previous = parameters.Show("freshet.snapshot").value_or("latest");
      Status status =
          reset ? parameters.Reset(command.name) : parameters.Set(command.name, command.value);
      if (status.ok() && snapshot) {
        status = SetSnapshot();
        if (!status.ok()) (void)parameters.Set("freshet.snapshot", previous);
      }
      if (!status.ok()) {
        std::string_view kind = status.code() == Code::kNotFound ? "Parameter" : "Setting";
        return Status(status.code(), fmt::format("{} Error: {}", kind, status.message()));
      }
      portal.tag = command.kind == ParameterCommand::Kind::kReset ? "RESET" : "SET";
      auto notify = [&](std::string_view name) {
        if (!SessionParameters::IsReported(name)) return;
        for (const auto& [reported, value] : parameters.Reported()) {
          if (Lower(reported) == Lower(name)) WriteParameterStatus(sink.out(), reported, value);
        }
      };
      if (command.name == "all") {
        for (const auto& [name, value] : parameters.Reported()) {
          WriteParameterStatus(sink.out(), name, value);
        }
      } else {
        notify(command.name);
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status Session::RunStatement(Portal& portal, MessageSink& sink) {
  Statement& statement = *portal.statement;
  if (statement.command) return RunParameterCommand(portal, sink);
  portal.started = true;
  if (statement.catalog_fallback) {
    portal.returns_rows = true;
    portal.tag = "SELECT 0";
    return Status::Ok();
  }
  engine::PreparedStatement* target = &*statement.prepared;
  size_t bound = portal.parameters.size();
  if (statement.per_bind) {
    FRESHET_ASSIGN_OR_RETURN(std::string expanded,
                             RewriteTableCalls(statement.query, &portal, nullptr));
    auto prepared = context_.connection->Prepare(
        RewriteCatalogQuery(RenumberParameters(expanded, statement.renumber)));
    if (!prepared.ok()) return MapPrepareError(prepared.status(), statement.sql);
    portal.prepared.emplace(std::move(prepared).value());
    target = &*portal.prepared;
    bound = statement.duckdb_parameters.size();
  }
  engine::PreparedStatement& prepared = *target;
  for (size_t k = 0; k < bound; ++k) {
    // DuckDB's parameter k holds the client's parameter i.
    size_t i = statement.per_bind ? statement.duckdb_parameters[k] : k;
    const auto& value = portal.parameters[i];
    if (!value) {
      FRESHET_RETURN_IF_ERROR(prepared.BindNull(k));
      continue;
    }
    uint32_t type_oid = statement.parameter_oids[i];
    if (type_oid == oid::kBytea) {
      if (portal.parameter_formats[i] == Format::kBinary) {
        FRESHET_RETURN_IF_ERROR(prepared.BindBlob(k, *value));
      } else {
        FRESHET_ASSIGN_OR_RETURN(std::string bytes, DecodeByteaText(*value));
        FRESHET_RETURN_IF_ERROR(prepared.BindBlob(k, bytes));
      }
      continue;
    }
    if (portal.parameter_formats[i] == Format::kBinary) {
      auto text = BinaryParameterToText(type_oid, *value);
      if (!text.ok()) {
        return Status::InvalidArgument("Binary Error: parameter ${}: {}", i + 1,
                                       text.status().message());
      }
      FRESHET_RETURN_IF_ERROR(prepared.BindText(k, *text));
    } else {
      FRESHET_RETURN_IF_ERROR(prepared.BindText(k, *value));
    }
  }

  auto& interrupter = *context_.interrupter;
  if (!interrupter.Begin()) {
    return Status::Cancelled("Shutdown Error: terminating connection due to administrator command");
  }
  std::optional<uint64_t> alarm;
  auto timeout = context_.parameters->statement_timeout();
  if (context_.watchdog != nullptr && timeout.count() > 0) {
    alarm = context_.watchdog->ArmTimeout(std::chrono::steady_clock::now() + timeout,
                                          context_.interrupter);
  }
  auto stream = prepared.Execute();
  if (alarm) context_.watchdog->Disarm(*alarm);
  InterruptReason reason = interrupter.End();
  if (!stream.ok()) {
    switch (reason) {
      case InterruptReason::kCancelRequest:
        return Status::Cancelled("Canceled Error: canceling statement due to user request");
      case InterruptReason::kStatementTimeout:
        return Status::Cancelled("Canceled Error: canceling statement due to statement timeout");
      case InterruptReason::kShutdown:
        return Status::Cancelled(
            "Shutdown Error: terminating connection due to administrator command");
      case InterruptReason::kNone:
        break;
    }
    return MapPrepareError(stream.status(), statement.sql);
  }
  portal.returns_rows = ReturnsRows(statement.type);
  portal.columns = stream->columns();
  portal.types = stream->types();
  portal.stream.emplace(std::move(stream).value());
  if (statement.type == StatementType::kTransaction) {
    portal.tag = TransactionTag(statement.keyword);
  } else if (statement.type == StatementType::kSet) {
    portal.tag = "SET";
  } else if (statement.type == StatementType::kExplain) {
    portal.tag = "EXPLAIN";
  }
  return Status::Ok();
}

void Session::DescribePortal(const Portal& portal, MessageSink& sink) {
  if (!portal.returns_rows || portal.columns.empty() || portal.statement->copy) {
    WriteNoData(sink.out());
    return;
  }
  std::vector<FieldDescription> fields;
  for (size_t i = 0; i < portal.columns.size(); ++i) {
    PgType type = PgTypeFor(portal.types[i]);
    fields.push_back({ClientColumnName(portal.columns[i]), type.oid, type.size, type.modifier,
                      portal.formats.ResultFormat(i)});
  }
  WriteRowDescription(sink.out(), fields);
}

Status Session::DescribeStatement(const Statement& statement, MessageSink& sink) {
  WriteParameterDescription(sink.out(), statement.parameter_oids);
  if (statement.column_names.empty() || statement.copy) {
    WriteNoData(sink.out());
    return Status::Ok();
  }
  std::vector<FieldDescription> fields;
  for (size_t i = 0; i < statement.column_names.size(); ++i) {
    PgType type = PgTypeFor(statement.column_types[i]);
    fields.push_back(
        {ClientColumnName(statement.column_names[i]), type.oid, type.size, type.modifier});
  }
  WriteRowDescription(sink.out(), fields);
  return Status::Ok();
}

Status Session::ExecutePortal(Portal& portal, int32_t max_rows, MessageSink& sink) {
  if (portal.statement->empty) {
    WriteEmptyQueryResponse(sink.out());
    return Status::Ok();
  }
  if (!portal.started) FRESHET_RETURN_IF_ERROR(RunStatement(portal, sink));
  if (portal.statement->copy && !portal.finished) return CopyOut(portal, sink);
  if (portal.finished) {
    WriteCommandComplete(sink.out(), portal.tag.empty() ? "SELECT 0" : portal.tag);
    return Status::Ok();
  }
  WireWriter& out = sink.out();
  std::string cell;
  int64_t sent_now = 0;
  bool exhausted = false;
  while (portal.returns_rows && (max_rows == 0 || sent_now < max_rows)) {
    if (portal.next_row >= portal.rows.size()) {
      portal.rows.clear();
      portal.next_row = 0;
      bool more = false;
      if (portal.stream) {
        FRESHET_ASSIGN_OR_RETURN(more, portal.stream->Next(&portal.rows));
      }
      if (!more) {
        exhausted = true;
        break;
      }
    }
    const engine::Row& row = portal.rows[portal.next_row++];
    WireWriter data;
    data.BeginMessage('D');
    data.PutI16(static_cast<int16_t>(row.size()));
    for (size_t col = 0; col < row.size(); ++col) {
      if (row[col].is_null()) {
        data.PutNull();
        continue;
      }
      cell.clear();
      if (portal.formats.ResultFormat(col) == Format::kBinary) {
        Status encoded = AppendBinary(row[col], portal.types[col], &cell);
        if (!encoded.ok()) {
          return Status::NotSupported("Format Error: column \"{}\": {}", portal.columns[col],
                                      encoded.message());
        }
      } else {
        AppendText(row[col], portal.types[col], &cell);
      }
      data.PutCountedBytes(cell);
    }
    data.EndMessage();
    out.PutBytes(data.data());
    ++sent_now;
    ++portal.rows_sent;
    if (out.size() >= kFlushBytes) FRESHET_RETURN_IF_ERROR(sink.Flush());
  }
  if (!portal.returns_rows) exhausted = true;
  if (!exhausted) {
    WritePortalSuspended(out);
    return Status::Ok();
  }
  portal.finished = true;
  portal.rows.clear();
  portal.stream.reset();
  if (portal.tag.empty()) portal.tag = fmt::format("SELECT {}", portal.rows_sent);
  WriteCommandComplete(out, portal.tag);
  return Status::Ok();
}

namespace {

// One field of COPY text format: backslash escapes for the delimiter, backslash and line ends.
void AppendCopyText(std::string_view text, char delimiter, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c == delimiter) out->push_back('\\');
        out->push_back(c);
    }
  }
}

// One field of CSV: quoted when it holds the delimiter, a quote, a line end, or would read
// as NULL.
void AppendCsv(std::string_view text, const CopyCommand& copy, std::string* out) {
  bool quote =
      text.empty() || text == copy.null_text ||
      text.find_first_of(std::string{copy.delimiter, '"', '\n', '\r'}) != std::string_view::npos;
  if (!quote) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

Status Session::CopyOut(Portal& portal, MessageSink& sink) {
  const CopyCommand& copy = *portal.statement->copy;
  WireWriter& out = sink.out();
  WriteCopyOutResponse(out, static_cast<int16_t>(portal.columns.size()));
  std::string line;
  if (copy.header) {
    for (size_t col = 0; col < portal.columns.size(); ++col) {
      if (col > 0) line.push_back(copy.delimiter);
      AppendCsv(ClientColumnName(portal.columns[col]), copy, &line);
    }
    line.push_back('\n');
    WriteCopyData(out, line);
  }
  std::string cell;
  int64_t copied = 0;
  while (portal.stream) {
    portal.rows.clear();
    FRESHET_ASSIGN_OR_RETURN(bool more, portal.stream->Next(&portal.rows));
    if (!more) break;
    for (const engine::Row& row : portal.rows) {
      line.clear();
      for (size_t col = 0; col < row.size(); ++col) {
        if (col > 0) line.push_back(copy.delimiter);
        if (row[col].is_null()) {
          line.append(copy.null_text);
          continue;
        }
        cell.clear();
        AppendText(row[col], portal.types[col], &cell);
        if (copy.csv) {
          AppendCsv(cell, copy, &line);
        } else {
          AppendCopyText(cell, copy.delimiter, &line);
        }
      }
      line.push_back('\n');
      WriteCopyData(out, line);
      ++copied;
      if (out.size() >= kFlushBytes) FRESHET_RETURN_IF_ERROR(sink.Flush());
    }
  }
  WriteCopyDone(out);
  portal.finished = true;
  portal.rows.clear();
  portal.stream.reset();
  portal.tag = fmt::format("COPY {}", copied);
  WriteCommandComplete(out, portal.tag);
  return Status::Ok();
}

// ---- message handlers. A returned error closes the connection; SQL errors are sent.

Status Session::OnQuery(std::string_view body, MessageSink& sink) {
  FRESHET_ASSIGN_OR_RETURN(QueryMessage query, ParseQuery(body));
  skip_until_sync_ = false;
  std::vector<std::string> statements = SplitStatements(query.sql);
  if (statements.empty()) WriteEmptyQueryResponse(sink.out());
  for (std::string& sql : statements) {
    refreshed_since_sync_ = false;
    auto statement = PrepareStatement(std::move(sql), {});
    if (!statement.ok()) {
      SendError(statement.status(), sink);
      break;
    }
    std::string keyword = (*statement)->keyword;
    auto portal = BindPortal(*statement, BindMessage{});
    Status status = portal.ok() ? RunStatement(**portal, sink) : portal.status();
    if (status.ok() && (*portal)->returns_rows && !(*statement)->copy) {
      if ((*portal)->columns.empty()) {
        WriteRowDescription(sink.out(), {});
      } else {
        DescribePortal(**portal, sink);
      }
    }
    if (status.ok()) status = ExecutePortal(**portal, 0, sink);
    if ((*statement)->type == StatementType::kTransaction) TrackTransaction(keyword, status.ok());
    if (!status.ok()) {
      SendError(status, sink);
      break;
    }
  }
  skip_until_sync_ = false;
  WriteReadyForQuery(sink.out(), transaction_status());
  return sink.Flush();
}

Status Session::OnParse(std::string_view body, MessageSink& sink) {
  FRESHET_ASSIGN_OR_RETURN(ParseMessage parse, ParseParse(body));
  if (!parse.statement.empty() && statements_.contains(parse.statement)) {
    SendError(Status::AlreadyExists("Statement Error: prepared statement \"{}\" already exists",
                                    parse.statement),
              sink);
    return Status::Ok();
  }
  if (SplitStatements(parse.sql).size() > 1) {
    SendError(Status::InvalidArgument(
                  "Parser Error: cannot insert multiple commands into a prepared statement"),
              sink);
    return Status::Ok();
  }
  auto statement = PrepareStatement(std::move(parse.sql), std::move(parse.parameter_types));
  if (!statement.ok()) {
    SendError(statement.status(), sink);
    return Status::Ok();
  }
  statements_[parse.statement] = std::move(statement).value();
  WriteParseComplete(sink.out());
  return Status::Ok();
}

Status Session::OnBind(std::string_view body, MessageSink& sink) {
  FRESHET_ASSIGN_OR_RETURN(BindMessage bind, ParseBind(body));
  auto it = statements_.find(bind.statement);
  if (it == statements_.end()) {
    SendError(Status::NotFound("Statement Error: prepared statement \"{}\" does not exist",
                               bind.statement),
              sink);
    return Status::Ok();
  }
  if (!bind.portal.empty() && portals_.contains(bind.portal)) {
    SendError(Status::AlreadyExists("Portal Error: portal \"{}\" already exists", bind.portal),
              sink);
    return Status::Ok();
  }
  if (!it->second->command && !it->second->empty) {
    Status refreshed = RefreshTables();
    if (!refreshed.ok()) {
      SendError(refreshed, sink);
      return Status::Ok();
    }
  }
  auto portal = BindPortal(it->second, bind);
  if (!portal.ok()) {
    SendError(portal.status(), sink);
    return Status::Ok();
  }
  portals_[bind.portal] = std::move(portal).value();
  WriteBindComplete(sink.out());
  return Status::Ok();
}

Status Session::OnDescribe(std::string_view body, MessageSink& sink) {
  FRESHET_ASSIGN_OR_RETURN(DescribeMessage describe, ParseDescribe(body));
  if (describe.kind == 'S') {
    auto it = statements_.find(describe.name);
    if (it == statements_.end()) {
      SendError(Status::NotFound("Statement Error: prepared statement \"{}\" does not exist",
                                 describe.name),
                sink);
      return Status::Ok();
    }
    return DescribeStatement(*it->second, sink);
  }
  auto it = portals_.find(describe.name);
  if (it == portals_.end()) {
    SendError(Status::NotFound("Portal Error: portal \"{}\" does not exist", describe.name), sink);
    return Status::Ok();
  }
  Portal& portal = *it->second;
  // Run now, so the description gives the result's real column types.
  if (!portal.started && !portal.statement->empty) {
    Status status = RunStatement(portal, sink);
    if (portal.statement->type == StatementType::kTransaction) {
      TrackTransaction(portal.statement->keyword, status.ok());
    }
    if (!status.ok()) {
      SendError(status, sink);
      return Status::Ok();
    }
  }
  DescribePortal(portal, sink);
  return Status::Ok();
}

Status Session::OnExecute(std::string_view body, MessageSink& sink) {
  FRESHET_ASSIGN_OR_RETURN(ExecuteMessage execute, ParseExecute(body));
  auto it = portals_.find(execute.portal);
  if (it == portals_.end()) {
    SendError(Status::NotFound("Portal Error: portal \"{}\" does not exist", execute.portal), sink);
    return Status::Ok();
  }
  Portal& portal = *it->second;
  bool first_run = !portal.started;
  Status status = ExecutePortal(portal, execute.max_rows, sink);
  if (first_run && portal.statement->type == StatementType::kTransaction) {
    TrackTransaction(portal.statement->keyword, status.ok());
  }
  if (!status.ok()) SendError(status, sink);
  return Status::Ok();
}

Status Session::OnClose(std::string_view body, MessageSink& sink) {
  FRESHET_ASSIGN_OR_RETURN(CloseMessage close, ParseClose(body));
  if (close.kind == 'S') {
    statements_.erase(close.name);
  } else {
    portals_.erase(close.name);
  }
  WriteCloseComplete(sink.out());
  return Status::Ok();
}

Status Session::OnSync(std::string_view body, MessageSink& sink) {
  if (!body.empty()) return Status::Corruption("Sync message with {} bytes of body", body.size());
  skip_until_sync_ = false;
  refreshed_since_sync_ = false;
  // The unnamed portal lives until the next Bind or the end of the transaction.
  if (!in_transaction_) portals_.erase("");
  WriteReadyForQuery(sink.out(), transaction_status());
  return sink.Flush();
}

Status Session::OnFlush(std::string_view body, MessageSink& sink) {
  if (!body.empty()) return Status::Corruption("Flush message with {} bytes of body", body.size());
  return sink.Flush();
}

}  // namespace freshet::server::pgwire
