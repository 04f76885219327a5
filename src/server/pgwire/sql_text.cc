#include "server/pgwire/sql_text.h"

#include <cctype>

namespace freshet::server::pgwire {
namespace {

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

size_t SkipQuotedOrComment(std::string_view sql, size_t i) {
  char c = sql[i];
  if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
    size_t end = sql.find('\n', i);
    return end == std::string_view::npos ? sql.size() : end + 1;
  }
  if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
    size_t end = sql.find("*/", i + 2);
    return end == std::string_view::npos ? sql.size() : end + 2;
  }
  if (c == '\'' || c == '"') {
    bool backslash_escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
    size_t j = i + 1;
    while (j < sql.size()) {
      if (backslash_escapes && sql[j] == '\\') {
        j += 2;
        continue;
      }
      if (sql[j] == c) {
        if (j + 1 < sql.size() && sql[j + 1] == c) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      ++j;
    }
    return sql.size();
  }
  if (c == '$') {
    size_t j = i + 1;
    while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) {
      ++j;
    }
    if (j < sql.size() && sql[j] == '$' &&
        (j == i + 1 || !std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
      std::string_view tag = sql.substr(i, j - i + 1);
      size_t end = sql.find(tag, j + 1);
      return end == std::string_view::npos ? sql.size() : end + tag.size();
    }
  }
  return i;
}

namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

// Splits a statement into words and quoted strings (quotes kept), skipping comments.
std::vector<std::string> Tokens(std::string_view sql) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped != i) {
      if (c == '\'' || c == '"' || c == '$') tokens.emplace_back(sql.substr(i, skipped - i));
      i = skipped;
      continue;
    }
    if (IsWordChar(c) || c == '-' || c == '+') {
      size_t j = i + 1;
      while (j < sql.size() && (IsWordChar(sql[j]) || sql[j] == '-' || sql[j] == '+')) ++j;
      tokens.emplace_back(sql.substr(i, j - i));
      i = j;
      continue;
    }
    tokens.emplace_back(1, c);
    ++i;
  }
  return tokens;
}

std::string Unquote(const std::string& token) {
  if (token.size() >= 2 && (token.front() == '\'' || token.front() == '"') &&
      token.back() == token.front()) {
    std::string out;
    char quote = token.front();
    for (size_t i = 1; i + 1 < token.size(); ++i) {
      out += token[i];
      if (token[i] == quote && token[i + 1] == quote) ++i;
    }
    return out;
  }
  return token;
}

}  // namespace

std::vector<std::string> SplitStatements(std::string_view sql) {
  std::vector<std::string> statements;
  size_t start = 0;
  size_t i = 0;
  while (i < sql.size()) {
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    if (sql[i] == ';') {
      std::string_view statement = Trim(sql.substr(start, i - start));
      if (!statement.empty()) statements.emplace_back(statement);
      start = i + 1;
    }
    ++i;
  }
  std::string_view last = Trim(sql.substr(start));
  if (!last.empty()) statements.emplace_back(last);
  return statements;
}

std::string FirstKeyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (IsSpace(sql[i])) {
      ++i;
      continue;
    }
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped != i && (sql[i] == '-' || sql[i] == '/')) {
      i = skipped;
      continue;
    }
    break;
  }
  size_t j = i;
  while (j < sql.size() && std::isalpha(static_cast<unsigned char>(sql[j]))) ++j;
  std::string word(sql.substr(i, j - i));
  for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return word;
}

std::optional<ParameterCommand> ParseParameterCommand(std::string_view sql) {
  std::vector<std::string> tokens = Tokens(sql);
  if (!tokens.empty() && tokens.back() == ";") tokens.pop_back();
  if (tokens.size() < 2) return std::nullopt;
  std::string verb = Lower(tokens[0]);
  ParameterCommand command;
  size_t at = 1;
  if (verb == "show" || verb == "reset") {
    command.kind = verb == "show" ? ParameterCommand::Kind::kShow : ParameterCommand::Kind::kReset;
    std::string name;
    for (size_t i = at; i < tokens.size(); ++i)
      name += (name.empty() ? "" : " ") + Lower(tokens[i]);
    if (name == "transaction isolation level") name = "transaction_isolation";
    if (name == "time zone") name = "timezone";
    if (name.find(' ') != std::string::npos) return std::nullopt;
    command.name = Lower(Unquote(name));
    return command;
  }
  if (verb != "set") return std::nullopt;
  command.kind = ParameterCommand::Kind::kSet;
  std::string scope = Lower(tokens[at]);
  if (scope == "session" || scope == "local") ++at;
  if (at >= tokens.size()) return std::nullopt;
  std::string name = Lower(tokens[at]);
  ++at;
  if (name == "time" && at < tokens.size() && Lower(tokens[at]) == "zone") {
    name = "timezone";
    ++at;
  } else if (name == "characteristics" || name == "transaction" || name == "role" ||
             name == "session") {
    return std::nullopt;
  } else {
    if (at >= tokens.size()) return std::nullopt;
    std::string op = Lower(tokens[at]);
    if (op != "to" && op != "=") return std::nullopt;
    ++at;
  }
  if (at >= tokens.size()) return std::nullopt;
  command.name = Unquote(name);
  if (at + 1 == tokens.size() && Lower(tokens[at]) == "default") {
    command.is_default = true;
    return command;
  }
  std::string value;
  for (size_t i = at; i < tokens.size(); ++i) {
    if (tokens[i] == ",") {
      value += ", ";
      continue;
    }
    value += Unquote(tokens[i]);
  }
  command.value = value;
  return command;
}

namespace {

// Index of the ")" closing the "(" at `open`, skipping quotes and comments; npos if none.
size_t MatchingParen(std::string_view sql, size_t open) {
  int depth = 0;
  for (size_t i = open; i < sql.size();) {
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    if (sql[i] == '(') ++depth;
    if (sql[i] == ')' && --depth == 0) return i;
    ++i;
  }
  return std::string_view::npos;
}

size_t SkipSpaceAndComments(std::string_view sql, size_t i) {
  while (i < sql.size()) {
    if (IsSpace(sql[i])) {
      ++i;
      continue;
    }
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped == i || sql[i] == '\'' || sql[i] == '"' || sql[i] == '$') break;
    i = skipped;
  }
  return i;
}

Status CopySyntaxError() {
  return Status::InvalidArgument(
      "Parser Error: syntax error in COPY: the gateway runs COPY (SELECT ...) TO STDOUT or COPY "
      "table TO STDOUT, with options WITH (FORMAT csv|text, HEADER, DELIMITER 'c', NULL 's')");
}

Result<bool> OptionBool(const std::vector<std::string>& tokens, size_t* k) {
  if (*k >= tokens.size()) return true;
  std::string value = Lower(Unquote(tokens[*k]));
  if (value == "true" || value == "on" || value == "1") {
    ++*k;
    return true;
  }
  if (value == "false" || value == "off" || value == "0") {
    ++*k;
    return false;
  }
  return true;
}

// Applies option `name` (lower case) reading its value from tokens[*k...].
Status ApplyCopyOption(const std::string& name, const std::vector<std::string>& tokens, size_t* k,
                       CopyCommand* copy, bool* delimiter_set, bool* null_set) {
  auto value = [&]() -> Result<std::string> {
    if (*k < tokens.size() && Lower(tokens[*k]) == "as") ++*k;
    if (*k >= tokens.size()) return CopySyntaxError();
    return Unquote(tokens[(*k)++]);
  };
  if (name == "format") {
    FRESHET_ASSIGN_OR_RETURN(std::string format, value());
    format = Lower(format);
    if (format == "binary") {
      return Status::NotSupported(
          "Not implemented Error: COPY FORMAT binary is not supported; "
          "use text or csv");
    }
    if (format != "csv" && format != "text") return CopySyntaxError();
    copy->csv = format == "csv";
  } else if (name == "csv") {
    copy->csv = true;
  } else if (name == "binary") {
    return Status::NotSupported(
        "Not implemented Error: COPY BINARY is not supported; use text "
        "or csv");
  } else if (name == "header") {
    FRESHET_ASSIGN_OR_RETURN(copy->header, OptionBool(tokens, k));
  } else if (name == "delimiter") {
    FRESHET_ASSIGN_OR_RETURN(std::string delimiter, value());
    if (delimiter.size() != 1) {
      return Status::InvalidArgument(
          "Parser Error: COPY delimiter must be a single one-byte character");
    }
    copy->delimiter = delimiter[0];
    *delimiter_set = true;
  } else if (name == "null") {
    FRESHET_ASSIGN_OR_RETURN(copy->null_text, value());
    *null_set = true;
  } else {
    return Status::NotSupported("Not implemented Error: COPY option \"{}\" is not supported", name);
  }
  return Status::Ok();
}

}  // namespace

Result<CopyCommand> ParseCopyToStdout(std::string_view sql) {
  CopyCommand copy;
  size_t i = SkipSpaceAndComments(sql, 0);
  if (sql.size() < i + 4 || Lower(sql.substr(i, 4)) != "copy") return CopySyntaxError();
  i = SkipSpaceAndComments(sql, i + 4);
  if (i >= sql.size()) return CopySyntaxError();
  if (sql[i] == '(') {
    size_t close = MatchingParen(sql, i);
    if (close == std::string_view::npos) return CopySyntaxError();
    copy.query = std::string(Trim(sql.substr(i + 1, close - i - 1)));
    i = close + 1;
  } else {
    size_t start = i;
    while (i < sql.size()) {
      if (sql[i] == '"') {
        i = SkipQuotedOrComment(sql, i);
      } else if (IsWordChar(sql[i])) {
        ++i;
      } else {
        break;
      }
    }
    if (i == start) return CopySyntaxError();
    std::string table(sql.substr(start, i - start));
    std::string columns = "*";
    i = SkipSpaceAndComments(sql, i);
    if (i < sql.size() && sql[i] == '(') {
      size_t close = MatchingParen(sql, i);
      if (close == std::string_view::npos) return CopySyntaxError();
      columns = std::string(Trim(sql.substr(i + 1, close - i - 1)));
      i = close + 1;
    }
    copy.query = "SELECT " + columns + " FROM " + table;
  }
  std::vector<std::string> tokens = Tokens(sql.substr(i));
  if (!tokens.empty() && Lower(tokens[0]) == "from") {
    return Status::PermissionDenied(
        "Read-only Error: cannot execute COPY FROM in a read-only transaction: tables served by "
        "freshet are read-only (changes arrive from the source database)");
  }
  if (tokens.size() < 2 || Lower(tokens[0]) != "to") return CopySyntaxError();
  if (Lower(tokens[1]) != "stdout") {
    return Status::PermissionDenied(
        "Read-only Error: cannot execute COPY TO a file or program in a read-only transaction: "
        "the gateway writes nothing on the server; use COPY ... TO STDOUT (psql: \\copy ... TO "
        "'file')");
  }
  bool delimiter_set = false;
  bool null_set = false;
  size_t k = 2;
  if (k < tokens.size() && Lower(tokens[k]) == "with") ++k;
  if (k < tokens.size() && tokens[k] == "(") {
    ++k;
    while (k < tokens.size() && tokens[k] != ")") {
      if (tokens[k] == ",") {
        ++k;
        continue;
      }
      std::string name = Lower(tokens[k++]);
      FRESHET_RETURN_IF_ERROR(ApplyCopyOption(name, tokens, &k, &copy, &delimiter_set, &null_set));
    }
    if (k >= tokens.size()) return CopySyntaxError();
    ++k;
  } else {
    while (k < tokens.size()) {
      std::string name = Lower(tokens[k++]);
      FRESHET_RETURN_IF_ERROR(ApplyCopyOption(name, tokens, &k, &copy, &delimiter_set, &null_set));
    }
  }
  if (k != tokens.size()) return CopySyntaxError();
  if (copy.csv && !delimiter_set) copy.delimiter = ',';
  if (copy.csv && !null_set) copy.null_text = "";
  if (copy.header && !copy.csv) {
    return Status::NotSupported("Not implemented Error: COPY HEADER is available only in CSV mode");
  }
  if (copy.query.empty()) return CopySyntaxError();
  return copy;
}

}  // namespace freshet::server::pgwire
