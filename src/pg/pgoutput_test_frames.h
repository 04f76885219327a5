#pragma once

// Hand-built pgoutput frames for tests and fuzz seeds, written field by field from the
// "Logical Replication Message Formats" section of the PostgreSQL documentation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/wire.h"

namespace freshet::pg::test_frames {

// One TupleData column: 'n', 'u', or 't'/'b' with bytes.
struct Col {
  char kind;
  std::string bytes;
};
inline Col Text(std::string bytes) { return {'t', std::move(bytes)}; }
inline Col Binary(std::string bytes) { return {'b', std::move(bytes)}; }
inline Col Null() { return {'n', ""}; }
inline Col Unchanged() { return {'u', ""}; }

inline void PutTuple(WireWriter& w, const std::vector<Col>& cols) {
  w.PutI16(static_cast<int16_t>(cols.size()));
  for (const Col& col : cols) {
    w.PutU8(static_cast<uint8_t>(col.kind));
    if (col.kind == 't' || col.kind == 'b') w.PutCountedBytes(col.bytes);
  }
}

inline void PutXid(WireWriter& w, std::optional<uint32_t> xid) {
  if (xid) w.PutU32(*xid);
}

inline std::string Begin(uint64_t final_lsn, int64_t time, uint32_t xid) {
  WireWriter w;
  w.PutU8('B');
  w.PutU64(final_lsn);
  w.PutI64(time);
  w.PutU32(xid);
  return w.Take();
}

inline std::string Commit(uint64_t commit_lsn, uint64_t end_lsn, int64_t time) {
  WireWriter w;
  w.PutU8('C');
  w.PutU8(0);
  w.PutU64(commit_lsn);
  w.PutU64(end_lsn);
  w.PutI64(time);
  return w.Take();
}

inline std::string Origin(uint64_t lsn, std::string_view name) {
  WireWriter w;
  w.PutU8('O');
  w.PutU64(lsn);
  w.PutCString(name);
  return w.Take();
}

struct RelCol {
  std::string name;
  uint32_t type_oid;
  int32_t typmod = -1;
  bool key = false;
};

inline std::string Relation(uint32_t oid, std::string_view schema, std::string_view name,
                            const std::vector<RelCol>& cols, char identity = 'd',
                            std::optional<uint32_t> xid = std::nullopt) {
  WireWriter w;
  w.PutU8('R');
  PutXid(w, xid);
  w.PutU32(oid);
  w.PutCString(schema);
  w.PutCString(name);
  w.PutU8(static_cast<uint8_t>(identity));
  w.PutI16(static_cast<int16_t>(cols.size()));
  for (const RelCol& col : cols) {
    w.PutU8(col.key ? 1 : 0);
    w.PutCString(col.name);
    w.PutU32(col.type_oid);
    w.PutI32(col.typmod);
  }
  return w.Take();
}

inline std::string Type(uint32_t oid, std::string_view schema, std::string_view name) {
  WireWriter w;
  w.PutU8('Y');
  w.PutU32(oid);
  w.PutCString(schema);
  w.PutCString(name);
  return w.Take();
}

inline std::string Insert(uint32_t rel, const std::vector<Col>& cols,
                          std::optional<uint32_t> xid = std::nullopt) {
  WireWriter w;
  w.PutU8('I');
  PutXid(w, xid);
  w.PutU32(rel);
  w.PutU8('N');
  PutTuple(w, cols);
  return w.Take();
}

// old_marker: 0 for none, 'K' or 'O'.
inline std::string Update(uint32_t rel, char old_marker, const std::vector<Col>& old_cols,
                          const std::vector<Col>& new_cols,
                          std::optional<uint32_t> xid = std::nullopt) {
  WireWriter w;
  w.PutU8('U');
  PutXid(w, xid);
  w.PutU32(rel);
  if (old_marker != 0) {
    w.PutU8(static_cast<uint8_t>(old_marker));
    PutTuple(w, old_cols);
  }
  w.PutU8('N');
  PutTuple(w, new_cols);
  return w.Take();
}

inline std::string Delete(uint32_t rel, char marker, const std::vector<Col>& old_cols,
                          std::optional<uint32_t> xid = std::nullopt) {
  WireWriter w;
  w.PutU8('D');
  PutXid(w, xid);
  w.PutU32(rel);
  w.PutU8(static_cast<uint8_t>(marker));
  PutTuple(w, old_cols);
  return w.Take();
}

inline std::string Truncate(const std::vector<uint32_t>& rels, uint8_t options,
                            std::optional<uint32_t> xid = std::nullopt) {
  WireWriter w;
  w.PutU8('T');
  PutXid(w, xid);
  w.PutI32(static_cast<int32_t>(rels.size()));
  w.PutU8(options);
  for (uint32_t rel : rels) w.PutU32(rel);
  return w.Take();
}

inline std::string Message(bool transactional, uint64_t lsn, std::string_view prefix,
                           std::string_view content, std::optional<uint32_t> xid = std::nullopt) {
  WireWriter w;
  w.PutU8('M');
  PutXid(w, xid);
  w.PutU8(transactional ? 1 : 0);
  w.PutU64(lsn);
  w.PutCString(prefix);
  w.PutCountedBytes(content);
  return w.Take();
}

inline std::string StreamStart(uint32_t xid, bool first) {
  WireWriter w;
  w.PutU8('S');
  w.PutU32(xid);
  w.PutU8(first ? 1 : 0);
  return w.Take();
}

inline std::string StreamStop() { return "E"; }

inline std::string StreamCommit(uint32_t xid, uint64_t commit_lsn, uint64_t end_lsn, int64_t time) {
  WireWriter w;
  w.PutU8('c');
  w.PutU32(xid);
  w.PutU8(0);
  w.PutU64(commit_lsn);
  w.PutU64(end_lsn);
  w.PutI64(time);
  return w.Take();
}

inline std::string StreamAbort(uint32_t xid, uint32_t subxid) {
  WireWriter w;
  w.PutU8('A');
  w.PutU32(xid);
  w.PutU32(subxid);
  return w.Take();
}

}  // namespace freshet::pg::test_frames
