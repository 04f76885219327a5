#include "lake/paths.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "lake/fs/file_system.h"

namespace freshet::lake {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int64_t ToInt(std::string_view digits) {
  int64_t out = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return out;
}

bool HasScheme(std::string_view path) {
  size_t colon = path.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = path[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return path.find('/') > colon;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) return Status::Corruption("malformed percent escape in '{}'", text);
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::string PercentEncodePath(std::string_view path) {
  std::string out;
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    bool keep =
        std::isalnum(u) || std::string_view("/-._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
    if (keep) {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

Result<std::string> PathFromUri(std::string_view uri) {
  if (!HasScheme(uri)) return PercentDecode(uri);
  if (uri.substr(0, 5) != "file:") {
    return Status::NotSupported("path '{}' is not on the local file system", uri);
  }
  std::string_view rest = uri.substr(5);
  // file:///x, file://localhost/x and file:/x all name /x.
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return Status::Corruption("malformed URI '{}'", uri);
    rest.remove_prefix(slash);
  }
  return PercentDecode(rest);
}

Result<std::string> ResolveDataPath(const std::string& table_path, std::string_view path) {
  if (HasScheme(path)) return PathFromUri(path);
  FRESHET_ASSIGN_OR_RETURN(std::string decoded, PercentDecode(path));
  if (!decoded.empty() && decoded.front() == '/') return decoded;
  return JoinPath(table_path, decoded);
}

std::string HivePartitionDirectory(std::string_view column,
                                   const std::optional<std::string>& value) {
  auto escape = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f ||
          std::string_view("\"#%'*/:=?\\{[]^").find(c) != std::string_view::npos) {
        out += fmt::format("%{:02X}", u);
      } else {
        out.push_back(c);
      }
    }
    return out;
  };
  std::string rendered =
      value && !value->empty() ? escape(*value) : std::string("__HIVE_DEFAULT_PARTITION__");
  return escape(column) + "=" + rendered;
}

std::string LogPath(const std::string& table_path) { return JoinPath(table_path, "_delta_log"); }

LogFileName ParseLogFileName(std::string_view name) {
  LogFileName out;
  if (name.size() < 21 || !AllDigits(name.substr(0, 20)) || name[20] != '.') return out;
  Version version = ToInt(name.substr(0, 20));
  std::string_view rest = name.substr(21);
  if (rest == "json") {
    out.kind = LogFileName::Kind::kCommit;
  } else if (rest == "checkpoint.parquet") {
    out.kind = LogFileName::Kind::kClassicCheckpoint;
  } else if (rest.substr(0, 11) == "checkpoint." &&
             (rest.ends_with(".parquet") || rest.ends_with(".json"))) {
    std::string_view middle = rest.substr(11, rest.rfind('.') - 11);
    // Multi-part: <part:10 digits>.<parts:10 digits>; UUID-named: a 36-character UUID.
    if (middle.size() == 21 && AllDigits(middle.substr(0, 10)) && middle[10] == '.' &&
        AllDigits(middle.substr(11)) && rest.ends_with(".parquet")) {
      out.kind = LogFileName::Kind::kMultiPartCheckpoint;
      out.part = static_cast<int>(ToInt(middle.substr(0, 10)));
      out.parts = static_cast<int>(ToInt(middle.substr(11)));
      if (out.part < 1 || out.part > out.parts) out.kind = LogFileName::Kind::kOther;
    } else if (middle.size() == 36) {
      out.kind = LogFileName::Kind::kUuidCheckpoint;
    }
  }
  if (out.kind != LogFileName::Kind::kOther) out.version = version;
  return out;
}

}  // namespace freshet::lake
