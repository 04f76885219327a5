#include "server/pgwire/table_functions.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "server/pgwire/sql_text.h"

namespace freshet::server::pgwire {
namespace {

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '$';
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Token {
  enum class Type { kString, kNumber, kWord, kArrow, kComma, kParameter, kOther };
  Type type = Type::kOther;
  std::string text;  // a string's value without quotes; a word in lower case
};

// Tokens of a call's argument list, from just after "(" to its matching ")"; `end` is set to
// the index just past ")".
Result<std::vector<Token>> ArgumentTokens(std::string_view sql, size_t i, std::string_view name,
                                          size_t* end) {
  std::vector<Token> tokens;
  while (i < sql.size()) {
    char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == ')') {
      *end = i + 1;
      return tokens;
    }
    if ((c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') ||
        (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*')) {
      i = SkipQuotedOrComment(sql, i);
      continue;
    }
    if (c == '\'' || ((c == 'E' || c == 'e') && i + 1 < sql.size() && sql[i + 1] == '\'')) {
      bool escapes = c != '\'';
      size_t start = escapes ? i + 1 : i;
      size_t stop = SkipQuotedOrComment(sql, start);
      if (stop > sql.size() || sql[stop - 1] != '\'' || stop == start + 1) {
        return Status::InvalidArgument("Parser Error: unterminated string in {}()", name);
      }
      std::string value;
      for (size_t k = start + 1; k + 1 < stop; ++k) {
        if (sql[k] == '\'' && sql[k + 1] == '\'') ++k;
        if (escapes && sql[k] == '\\' && k + 2 < stop) ++k;
        value.push_back(sql[k]);
      }
      tokens.push_back({Token::Type::kString, std::move(value)});
      i = stop;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        ((c == '-' || c == '+') && i + 1 < sql.size() &&
         std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
      size_t j = i + 1;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      tokens.push_back({Token::Type::kNumber, std::string(sql.substr(i, j - i))});
      i = j;
      continue;
    }
    if (IsIdentifierStart(c)) {
      size_t j = i + 1;
      while (j < sql.size() && IsIdentifierChar(sql[j])) ++j;
      tokens.push_back({Token::Type::kWord, Lower(sql.substr(i, j - i))});
      i = j;
      continue;
    }
    if ((c == '=' || c == ':') && i + 1 < sql.size() && sql[i + 1] == (c == '=' ? '>' : '=')) {
      tokens.push_back({Token::Type::kArrow, "=>"});
      i += 2;
      continue;
    }
    if (c == ',') {
      tokens.push_back({Token::Type::kComma, ","});
      ++i;
      continue;
    }
    if (c == '$' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t j = i + 1;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      tokens.push_back({Token::Type::kParameter, std::string(sql.substr(i + 1, j - i - 1))});
      i = j;
      continue;
    }
    if (c == '$' || c == '?') {
      return Status::NotSupported(
          "Not implemented Error: {}() takes literals or numbered parameters ($1), not '{}'", name,
          c);
    }
    return Status::InvalidArgument(
        "Parser Error: {}() takes literal arguments only (a quoted table name, then integer "
        "versions or a quoted timestamp); found '{}'",
        name, c);
  }
  return Status::InvalidArgument("Parser Error: {}( has no closing parenthesis", name);
}

Result<int64_t> ToInt(const Token& token, std::string_view name, std::string_view what) {
  int64_t value = 0;
  std::string_view text = token.text;
  if (text.starts_with('+')) text.remove_prefix(1);
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (token.type != Token::Type::kNumber || error != std::errc() ||
      end != text.data() + text.size()) {
    return Status::InvalidArgument("Parser Error: {}(): {} must be an integer version, got '{}'",
                                   name, what, token.text);
  }
  return value;
}

// A version argument: an integer literal into *value, or a parameter's number into *parameter.
Status VersionArgument(const Token& token, std::string_view name, std::string_view what,
                       int64_t* value, std::optional<int>* parameter) {
  if (token.type == Token::Type::kParameter) {
    *parameter = std::stoi(token.text);
    return Status::Ok();
  }
  FRESHET_ASSIGN_OR_RETURN(*value, ToInt(token, name, what));
  return Status::Ok();
}

Result<TableFunctionCall> ParseCall(TableFunctionCall::Kind kind, std::string_view name,
                                    const std::vector<Token>& tokens) {
  TableFunctionCall call;
  call.kind = kind;
  std::string usage = kind == TableFunctionCall::Kind::kTableAt
                          ? "table_at('schema.table', version => N) or table_at('schema.table', "
                            "timestamp => 'YYYY-MM-DD HH:MM:SS+00')"
                          : "table_changes('schema.table', from_version[, to_version])";
  auto bad = [&]() {
    return Status::InvalidArgument("Parser Error: malformed {}() call; write {}", name, usage);
  };
  if (!tokens.empty() && tokens[0].type == Token::Type::kParameter) {
    return Status::NotSupported(
        "Not implemented Error: {}() takes the table name as a literal, not a parameter", name);
  }
  if (tokens.empty() || tokens[0].type != Token::Type::kString) return bad();
  call.table = tokens[0].text;
  // Split the rest at commas.
  std::vector<std::vector<Token>> arguments;
  for (size_t i = 1; i < tokens.size(); ++i) {
    if (tokens[i].type == Token::Type::kComma) {
      arguments.emplace_back();
      continue;
    }
    if (arguments.empty()) return bad();
    arguments.back().push_back(tokens[i]);
  }
  for (const auto& argument : arguments) {
    if (argument.empty()) return bad();
  }
  if (kind == TableFunctionCall::Kind::kTableChanges) {
    if (arguments.empty() || arguments.size() > 2) return bad();
    for (const auto& argument : arguments) {
      if (argument.size() != 1) return bad();
    }
    FRESHET_RETURN_IF_ERROR(VersionArgument(arguments[0][0], name, "the first version", &call.from,
                                            &call.from_parameter));
    if (arguments.size() == 2) {
      int64_t to = 0;
      FRESHET_RETURN_IF_ERROR(
          VersionArgument(arguments[1][0], name, "the last version", &to, &call.to_parameter));
      if (!call.to_parameter) call.to = to;
    }
    return call;
  }
  if (arguments.size() > 1) return bad();
  if (arguments.empty()) return call;
  const auto& argument = arguments[0];
  if (argument.size() < 3 || argument[0].type != Token::Type::kWord ||
      argument[1].type != Token::Type::kArrow) {
    return bad();
  }
  if (argument[0].text == "version" && argument.size() == 3) {
    int64_t version = 0;
    FRESHET_RETURN_IF_ERROR(
        VersionArgument(argument[2], name, "version", &version, &call.version_parameter));
    if (!call.version_parameter) call.version = version;
    return call;
  }
  if (argument[0].text == "timestamp") {
    // timestamp => '...', or with a type keyword: timestamp => TIMESTAMPTZ '...'.
    size_t value = 2;
    if (argument.size() == 4 && argument[2].type == Token::Type::kWord &&
        (argument[2].text == "timestamp" || argument[2].text == "timestamptz")) {
      value = 3;
    }
    if (argument.size() == value + 1 && argument[value].type == Token::Type::kString) {
      call.timestamp = argument[value].text;
      return call;
    }
    if (argument.size() == 3 && argument[2].type == Token::Type::kParameter) {
      call.timestamp_parameter = std::stoi(argument[2].text);
      return call;
    }
  }
  return bad();
}

}  // namespace

Result<std::string> RewriteTableFunctions(std::string_view sql,
                                          const TableFunctionResolver& resolve) {
  std::string out;
  size_t copied = 0;  // sql[copied, i) is still to be copied to `out`
  size_t i = 0;
  char previous = ' ';  // the last character outside whitespace and comments
  while (i < sql.size()) {
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped != i) {
      if (sql[i] != '-' && sql[i] != '/') previous = sql[skipped - 1];
      i = skipped;
      continue;
    }
    char c = sql[i];
    if (!IsIdentifierStart(c)) {
      if (!std::isspace(static_cast<unsigned char>(c))) previous = c;
      ++i;
      continue;
    }
    size_t word_end = i + 1;
    while (word_end < sql.size() && IsIdentifierChar(sql[word_end])) ++word_end;
    std::string word = Lower(sql.substr(i, word_end - i));
    bool qualified = previous == '.';
    previous = sql[word_end - 1];
    if (qualified || (word != "table_at" && word != "table_changes")) {
      i = word_end;
      continue;
    }
    size_t open = word_end;
    while (open < sql.size()) {
      if (std::isspace(static_cast<unsigned char>(sql[open]))) {
        ++open;
        continue;
      }
      size_t comment = SkipQuotedOrComment(sql, open);
      if (comment != open && (sql[open] == '-' || sql[open] == '/')) {
        open = comment;
        continue;
      }
      break;
    }
    if (open >= sql.size() || sql[open] != '(') {
      i = word_end;  // a column or table named table_at
      continue;
    }
    auto kind = word == "table_at" ? TableFunctionCall::Kind::kTableAt
                                   : TableFunctionCall::Kind::kTableChanges;
    size_t close = 0;
    FRESHET_ASSIGN_OR_RETURN(std::vector<Token> tokens,
                             ArgumentTokens(sql, open + 1, word, &close));
    FRESHET_ASSIGN_OR_RETURN(TableFunctionCall call, ParseCall(kind, word, tokens));
    FRESHET_ASSIGN_OR_RETURN(std::string query, resolve(call));
    out.append(sql.substr(copied, i - copied));
    out += "(" + query + ")";
    copied = close;
    i = close;
    previous = ')';
  }
  if (copied == 0) return std::string(sql);
  out.append(sql.substr(copied));
  return out;
}

namespace {

// Calls `on_parameter(start, end, number)` for each $n outside quotes and comments.
template <typename F>
void ForEachParameter(std::string_view sql, F on_parameter) {
  size_t i = 0;
  while (i < sql.size()) {
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    if (IsIdentifierStart(sql[i])) {
      while (i < sql.size() && IsIdentifierChar(sql[i])) ++i;  // a$1 is one identifier
      continue;
    }
    if (sql[i] == '$' && i + 1 < sql.size() &&
        std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t j = i + 1;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      int number = 0;
      std::from_chars(sql.data() + i + 1, sql.data() + j, number);
      on_parameter(i, j, number);
      i = j;
      continue;
    }
    ++i;
  }
}

}  // namespace

std::vector<int> ParameterNumbers(std::string_view sql) {
  std::vector<int> numbers;
  ForEachParameter(sql, [&](size_t, size_t, int number) { numbers.push_back(number); });
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  return numbers;
}

std::string RenumberParameters(std::string_view sql, const std::map<int, int>& mapping) {
  std::string out;
  size_t copied = 0;
  ForEachParameter(sql, [&](size_t start, size_t end, int number) {
    auto it = mapping.find(number);
    if (it == mapping.end()) return;
    out.append(sql.substr(copied, start - copied));
    out += "$" + std::to_string(it->second);
    copied = end;
  });
  out.append(sql.substr(copied));
  return out;
}

}  // namespace freshet::server::pgwire
