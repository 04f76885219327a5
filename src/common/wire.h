#pragma once

// WireReader and WireWriter: bounds-checked PostgreSQL framing (frontend/backend protocol,
// replication CopyData payloads, pgoutput messages, binary COPY).
//
// PostgreSQL sends integers in network byte order (big-endian), strings as NUL-terminated
// bytes and values as counted byte runs. Every read checks the bytes left first and returns
// Corruption naming what was being read and where, instead of reading past the end: these
// bytes come from the network and are never trusted. The reader does not own its bytes; the
// views it returns point into them and live as long as they do. Both types are plain values,
// thread-compatible.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/result.h"

namespace freshet {

class WireReader {
 public:
  // `what` names the bytes in error messages ("pgoutput Insert", "CopyData").
  explicit WireReader(std::string_view data, std::string_view what = "message")
      : data_(data), what_(what) {}

  size_t position() const { return position_; }
  size_t remaining() const { return data_.size() - position_; }
  bool empty() const { return remaining() == 0; }
  std::string_view what() const { return what_; }

  Result<uint8_t> ReadU8();
  Result<int8_t> ReadI8();
  Result<uint16_t> ReadU16();
  Result<int16_t> ReadI16();
  Result<uint32_t> ReadU32();
  Result<int32_t> ReadI32();
  Result<uint64_t> ReadU64();
  Result<int64_t> ReadI64();
  // A NUL-terminated string; the view excludes the NUL. Corruption if no NUL remains.
  Result<std::string_view> ReadCString();
  // Exactly `count` bytes.
  Result<std::string_view> ReadBytes(size_t count);
  // A run whose length is a signed 32-bit prefix, as in DataRow and binary COPY. A length of
  // -1 is SQL NULL: `is_null` is set and the view is empty. Other negatives are Corruption.
  Result<std::string_view> ReadCountedBytes(bool* is_null);
  // Everything left.
  std::string_view ReadRest();
  Status Skip(size_t count);

  // Corruption unless every byte was consumed; for messages with no trailing data.
  Status ExpectEnd() const;

 private:
  Status Truncated(size_t needed, std::string_view reading) const;
  template <typename T>
  Result<T> ReadBigEndian(std::string_view reading);

  std::string_view data_;
  std::string_view what_;
  size_t position_ = 0;
};

// Appends big-endian integers, C strings and byte runs to a growing buffer. Never fails.
class WireWriter {
 public:
  WireWriter() = default;

  void PutU8(uint8_t value) { buffer_.push_back(static_cast<char>(value)); }
  void PutU16(uint16_t value) { PutBigEndian(value); }
  void PutI16(int16_t value) { PutBigEndian(static_cast<uint16_t>(value)); }
  void PutU32(uint32_t value) { PutBigEndian(value); }
  void PutI32(int32_t value) { PutBigEndian(static_cast<uint32_t>(value)); }
  void PutU64(uint64_t value) { PutBigEndian(value); }
  void PutI64(int64_t value) { PutBigEndian(static_cast<uint64_t>(value)); }
  // Writes the bytes and a NUL. REQUIRES: `text` holds no NUL.
  void PutCString(std::string_view text);
  void PutBytes(std::string_view bytes) { buffer_.append(bytes); }
  // An Int32 length then the bytes; PutNull writes the length -1.
  void PutCountedBytes(std::string_view bytes);
  void PutNull() { PutI32(-1); }

  // Frontend/backend framing: a type byte, then an Int32 length counting itself and the body.
  // BeginMessage writes the type and a placeholder; EndMessage fills in the length.
  // REQUIRES: calls pair up, without nesting.
  void BeginMessage(char type);
  void EndMessage();

  size_t size() const { return buffer_.size(); }
  const std::string& data() const { return buffer_; }
  std::string Take() { return std::move(buffer_); }
  void Clear() { buffer_.clear(); }

 private:
  template <typename T>
  void PutBigEndian(T value) {
    char bytes[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) {
      bytes[i] = static_cast<char>((value >> (8 * (sizeof(T) - 1 - i))) & 0xFF);
    }
    buffer_.append(bytes, sizeof(T));
  }

  std::string buffer_;
  size_t message_start_ = 0;
};

}  // namespace freshet
