#include "lake/change_feed.h"

namespace freshet::lake {

bool ChangeFeedEnabled(const std::map<std::string, std::string>& configuration) {
  auto it = configuration.find("delta.enableChangeDataFeed");
  return it != configuration.end() && (it->second == "true" || it->second == "TRUE");
}

Result<std::string> ChangeFeedSql(FileSystem& fs, engine::Connection& connection,
                                  const std::string& table_path, Version from,
                                  std::optional<Version> to) {
  (void)fs;
  (void)connection;
  (void)to;
  return Status::NotSupported("change data feed of {} from version {}: not implemented yet",
                              table_path, from);
}

}  // namespace freshet::lake
