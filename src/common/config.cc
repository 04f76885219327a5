#include "common/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

namespace freshet {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Splits "64MB" into 64 and "mb"; false when there is no leading number.
bool SplitNumberAndUnit(std::string_view text, uint64_t* number, std::string* unit) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, *number);
  if (ec != std::errc() || ptr != text.data() + digits) return false;
  std::string_view rest = text.substr(digits);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  *unit = Lower(rest);
  return true;
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  uint64_t number = 0;
  std::string unit;
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},
      {"b", 1},
      {"kb", 1ULL << 10},
      {"kib", 1ULL << 10},
      {"k", 1ULL << 10},
      {"mb", 1ULL << 20},
      {"mib", 1ULL << 20},
      {"m", 1ULL << 20},
      {"gb", 1ULL << 30},
      {"gib", 1ULL << 30},
      {"g", 1ULL << 30},
      {"tb", 1ULL << 40},
      {"tib", 1ULL << 40},
  };
  if (SplitNumberAndUnit(text, &number, &unit)) {
    for (auto [name, multiplier] : kUnits) {
      if (unit != name) continue;
      if (number > std::numeric_limits<uint64_t>::max() / multiplier) break;
      return number * multiplier;
    }
  }
  return Status::InvalidArgument(
      "'{}' is not a size; write a whole number with an optional unit B, KB, MB, GB or TB "
      "(binary multiples), like 64MB",
      text);
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  uint64_t number = 0;
  std::string unit;
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"min", 60'000}, {"h", 3'600'000}, {"d", 86'400'000},
  };
  if (SplitNumberAndUnit(text, &number, &unit)) {
    for (auto [name, multiplier] : kUnits) {
      if (unit != name) continue;
      if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / multiplier)) break;
      return std::chrono::milliseconds(static_cast<int64_t>(number) * multiplier);
    }
  }
  return Status::InvalidArgument(
      "'{}' is not a duration; write a whole number with a unit ms, s, m, h or d, like 500ms",
      text);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  ListenAddress out;
  if (colon != std::string_view::npos && colon + 1 < text.size() && text.size() - colon - 1 <= 5) {
    std::string_view port = text.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    out.host = std::string(text.substr(0, colon));
    if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
      out.host = out.host.substr(1, out.host.size() - 2);
    }
    if (ec == std::errc() && ptr == port.data() + port.size() && out.port >= 0 &&
        out.port <= 65535) {
      if (out.host.empty()) out.host = "127.0.0.1";
      return out;
    }
  }
  return Status::InvalidArgument(
      "'{}' is not a listen address; write host:port, like 127.0.0.1:8080", text);
}

Result<ConfigNode> ConfigNode::Parse(std::string_view text, std::string_view source_name) {
  auto source = std::make_shared<const std::string>(source_name);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return ConfigNode(root, "", std::move(source));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("{}:{}:{}: YAML syntax error: {}", source_name, e.mark.line + 1,
                                   e.mark.column + 1, e.msg);
  }
}

Result<ConfigNode> ConfigNode::LoadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound(
        "cannot read config file {}: it does not exist or is not readable (run `freshet init` "
        "to write an example)",
        path.string());
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Parse(buffer.str(), path.string());
}

int ConfigNode::line() const {
  if (!node_.IsDefined()) return 0;
  YAML::Mark mark = node_.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

Status ConfigNode::MakeError(std::string message) const {
  std::string where = *source_;
  if (line() > 0) where += fmt::format(":{}", line());
  if (!path_.empty()) where += ": " + path_;
  return Status::InvalidArgument("{}: {}", where, message);
}

ConfigNode ConfigNode::Child(const YAML::Node& node, std::string_view key) const {
  std::string child_path = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  return ConfigNode(node, std::move(child_path), source_);
}

bool ConfigNode::Has(std::string_view key) const { return Find(key).has_value(); }

std::optional<ConfigNode> ConfigNode::Find(std::string_view key) const {
  if (!node_.IsMap()) return std::nullopt;
  for (const auto& entry : node_) {
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return Child(entry.second, key);
  }
  return std::nullopt;
}

Result<ConfigNode> ConfigNode::Get(std::string_view key) const {
  if (!node_.IsMap()) return Error("expected a map with key '{}'", key);
  auto found = Find(key);
  if (!found) return Error("missing required key '{}'", key);
  return *found;
}

Result<std::vector<ConfigNode>> ConfigNode::Items() const {
  if (!node_.IsSequence()) return Error("expected a list");
  std::vector<ConfigNode> items;
  size_t index = 0;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const YAML::Node& item = *it;
    items.push_back(ConfigNode(item, fmt::format("{}[{}]", path_, index++), source_));
  }
  return items;
}

Result<std::vector<std::string>> ConfigNode::Keys() const {
  if (!node_.IsMap()) return Error("expected a map");
  std::vector<std::string> keys;
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) return Error("map keys must be plain names");
    keys.push_back(entry.first.Scalar());
  }
  return keys;
}

Status ConfigNode::CheckKeys(std::initializer_list<std::string_view> allowed) const {
  if (IsNull()) return Status::Ok();
  if (!node_.IsMap()) return Error("expected a map");
  std::vector<std::pair<std::string, int>> seen;  // key, line
  for (const auto& entry : node_) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    ConfigNode at = Child(entry.first, key);
    for (const auto& [other, other_line] : seen) {
      if (other == key) return at.Error("key appears twice (first on line {})", other_line);
    }
    seen.emplace_back(key, at.line());
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string_view nearest;
    size_t best = 3;  // suggest only near misses: at most two edits away
    for (std::string_view candidate : allowed) {
      size_t distance = EditDistance(key, candidate);
      if (distance < best) {
        best = distance;
        nearest = candidate;
      }
    }
    std::string known;
    for (std::string_view candidate : allowed) {
      known += known.empty() ? "" : ", ";
      known += candidate;
    }
    if (!nearest.empty()) return at.Error("unknown key; did you mean '{}'?", nearest);
    return at.Error("unknown key; known keys here: {}", known);
  }
  return Status::Ok();
}

Result<std::string> ConfigNode::Scalar(std::string_view expected) const {
  if (!node_.IsDefined() || node_.IsNull()) return Error("expected {}, got nothing", expected);
  if (!node_.IsScalar())
    return Error("expected {}, got a {}", expected, node_.IsMap() ? "map" : "list");
  return node_.Scalar();
}

Result<std::string> ConfigNode::AsString() const { return Scalar("a string"); }

Result<int64_t> ConfigNode::AsInt() const {
  FRESHET_ASSIGN_OR_RETURN(std::string text, Scalar("an integer"));
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Error("expected an integer, got '{}'", text);
  }
  return value;
}

Result<double> ConfigNode::AsDouble() const {
  FRESHET_ASSIGN_OR_RETURN(std::string text, Scalar("a number"));
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Error("expected a number, got '{}'", text);
  }
  return value;
}

Result<bool> ConfigNode::AsBool() const {
  FRESHET_ASSIGN_OR_RETURN(std::string text, Scalar("true or false"));
  std::string lower = Lower(text);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return Error("expected true or false, got '{}'", text);
}

Result<uint64_t> ConfigNode::AsByteSize() const {
  FRESHET_ASSIGN_OR_RETURN(std::string text, Scalar("a size like 64MB"));
  auto size = ParseByteSize(text);
  if (!size.ok()) return MakeError(size.status().message());
  return size;
}

Result<std::chrono::milliseconds> ConfigNode::AsDuration() const {
  FRESHET_ASSIGN_OR_RETURN(std::string text, Scalar("a duration like 500ms"));
  auto duration = ParseDuration(text);
  if (!duration.ok()) return MakeError(duration.status().message());
  return duration;
}

Result<std::vector<std::string>> ConfigNode::AsStringList() const {
  if (node_.IsScalar()) return std::vector<std::string>{node_.Scalar()};
  FRESHET_ASSIGN_OR_RETURN(auto items, Items());
  std::vector<std::string> out;
  for (const auto& item : items) {
    FRESHET_ASSIGN_OR_RETURN(std::string text, item.AsString());
    out.push_back(std::move(text));
  }
  return out;
}

Result<std::string> ConfigNode::GetString(std::string_view key, std::string fallback) const {
  auto child = Find(key);
  return child ? child->AsString() : Result<std::string>(std::move(fallback));
}

Result<int64_t> ConfigNode::GetInt(std::string_view key, int64_t fallback) const {
  auto child = Find(key);
  return child ? child->AsInt() : Result<int64_t>(fallback);
}

Result<bool> ConfigNode::GetBool(std::string_view key, bool fallback) const {
  auto child = Find(key);
  return child ? child->AsBool() : Result<bool>(fallback);
}

Result<uint64_t> ConfigNode::GetByteSize(std::string_view key, uint64_t fallback) const {
  auto child = Find(key);
  return child ? child->AsByteSize() : Result<uint64_t>(fallback);
}

Result<std::chrono::milliseconds> ConfigNode::GetDuration(
    std::string_view key, std::chrono::milliseconds fallback) const {
  auto child = Find(key);
  return child ? child->AsDuration() : Result<std::chrono::milliseconds>(fallback);
}

}  // namespace freshet
