#pragma once

// Reading YAML configuration into typed values, with errors that name the file, the line and
// the key ("freshet.yaml:12: pipelines[0].flush.max_rows: expected an integer, got 'lots'").
//
// ConfigNode is a read-only view of one YAML node plus where it sits (its dotted path and
// line). Domain configs are plain structs that a loader fills from ConfigNodes, calling
// CheckKeys on every map so that a misspelt key is an error, never silently ignored.
// Thread-compatible; a ConfigNode keeps its document alive.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/result.h"

namespace freshet {

class ConfigNode {
 public:
  // Parses YAML text; `source_name` (usually the file path) prefixes every error.
  static Result<ConfigNode> Parse(std::string_view text, std::string_view source_name);
  static Result<ConfigNode> LoadFile(const std::filesystem::path& path);

  // Dotted path from the document root, "" for the root itself.
  const std::string& path() const { return path_; }
  // 1-based line of the node in its source, 0 when unknown (a node built, not parsed).
  int line() const;

  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  bool IsNull() const { return !node_.IsDefined() || node_.IsNull(); }

  bool Has(std::string_view key) const;
  // The child under `key`; InvalidArgument "missing required key" when absent.
  Result<ConfigNode> Get(std::string_view key) const;
  std::optional<ConfigNode> Find(std::string_view key) const;
  // Elements of a sequence; InvalidArgument when this is not one.
  Result<std::vector<ConfigNode>> Items() const;
  // Keys of a map, in document order.
  Result<std::vector<std::string>> Keys() const;

  // Errors unless every key of this map is in `allowed`; suggests the nearest allowed key.
  Status CheckKeys(std::initializer_list<std::string_view> allowed) const;

  Result<std::string> AsString() const;
  Result<int64_t> AsInt() const;
  Result<double> AsDouble() const;
  Result<bool> AsBool() const;
  // "64MB", "512KiB", "1GB", "4096": binary multiples (KB = KiB = 1024 bytes).
  Result<uint64_t> AsByteSize() const;
  // "250ms", "5s", "10m", "2h", "7d".
  Result<std::chrono::milliseconds> AsDuration() const;
  // A sequence of strings, or a single string as a list of one.
  Result<std::vector<std::string>> AsStringList() const;

  // Optional keys with defaults: the key's value when present, `fallback` when absent.
  Result<std::string> GetString(std::string_view key, std::string fallback) const;
  Result<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  Result<bool> GetBool(std::string_view key, bool fallback) const;
  Result<uint64_t> GetByteSize(std::string_view key, uint64_t fallback) const;
  Result<std::chrono::milliseconds> GetDuration(std::string_view key,
                                                std::chrono::milliseconds fallback) const;

  // InvalidArgument "<source>:<line>: <path>: <message>".
  template <typename... Args>
  Status Error(fmt::format_string<Args...> format, Args&&... args) const {
    return MakeError(fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  ConfigNode(const YAML::Node& node, std::string path, std::shared_ptr<const std::string> source)
      : node_(node), path_(std::move(path)), source_(std::move(source)) {}

  ConfigNode Child(const YAML::Node& node, std::string_view key) const;
  Status MakeError(std::string message) const;
  Result<std::string> Scalar(std::string_view expected) const;

  YAML::Node node_;
  std::string path_;
  std::shared_ptr<const std::string> source_;
};

struct ListenAddress {
  std::string host;
  int port = 0;  // 0: any free port
};
// "127.0.0.1:8080", "[::1]:5433", ":0"; InvalidArgument naming the text otherwise.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Exposed for other parsers of sizes and durations (flags, SQL settings).
Result<uint64_t> ParseByteSize(std::string_view text);
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace freshet
