#pragma once

// CopyBinaryParser: rows out of COPY ... TO STDOUT (FORMAT binary), fed in whatever pieces the
// connection delivers.
//
// Format (PostgreSQL documentation, COPY, "Binary Format"): the 11-byte signature
// "PGCOPY\n\377\r\n\0", an Int32 flags field, an Int32 header-extension length and that many
// bytes; then per row an Int16 field count followed by each field as an Int32 length (-1 for
// NULL) and the value in its type's binary send format; a field count of -1 ends the data.
// Values come out as pg::Value (kBinary or kNull). Bad signatures, unknown critical flags,
// negative lengths and data after the trailer are Corruption; Finish() on a partial row too.
// Not thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "pg/change.h"

namespace freshet::pg {

class CopyBinaryParser {
 public:
  // Called once per complete row; a non-OK Status stops parsing and is returned by Feed.
  using RowCallback = std::function<Status(Tuple&&)>;

  explicit CopyBinaryParser(RowCallback on_row) : on_row_(std::move(on_row)) {}

  Status Feed(std::string_view bytes);
  // Corruption unless the data ended exactly at the trailer.
  Status Finish() const;

  uint64_t rows() const { return rows_; }
  uint64_t bytes() const { return bytes_; }

 private:
  // Parses complete items of `data` from *used on, advancing *used past them.
  Status Parse(std::string_view data, size_t* used);

  RowCallback on_row_;
  std::string buffer_;  // an unfinished tail
  bool header_done_ = false;
  bool trailer_seen_ = false;
  uint64_t rows_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace freshet::pg
