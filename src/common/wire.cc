#include "common/wire.h"

#include "common/check.h"

namespace freshet {

Status WireReader::Truncated(size_t needed, std::string_view reading) const {
  return Status::Corruption("truncated {}: reading {} at byte {} needs {} bytes, {} left", what_,
                            reading, position_, needed, remaining());
}

template <typename T>
Result<T> WireReader::ReadBigEndian(std::string_view reading) {
  if (remaining() < sizeof(T)) return Truncated(sizeof(T), reading);
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<T>((value << 8) | static_cast<uint8_t>(data_[position_ + i]));
  }
  position_ += sizeof(T);
  return value;
}

Result<uint8_t> WireReader::ReadU8() { return ReadBigEndian<uint8_t>("a byte"); }
Result<int8_t> WireReader::ReadI8() {
  FRESHET_ASSIGN_OR_RETURN(uint8_t value, ReadBigEndian<uint8_t>("a byte"));
  return static_cast<int8_t>(value);
}
Result<uint16_t> WireReader::ReadU16() { return ReadBigEndian<uint16_t>("an Int16"); }
Result<int16_t> WireReader::ReadI16() {
  FRESHET_ASSIGN_OR_RETURN(uint16_t value, ReadBigEndian<uint16_t>("an Int16"));
  return static_cast<int16_t>(value);
}
Result<uint32_t> WireReader::ReadU32() { return ReadBigEndian<uint32_t>("an Int32"); }
Result<int32_t> WireReader::ReadI32() {
  FRESHET_ASSIGN_OR_RETURN(uint32_t value, ReadBigEndian<uint32_t>("an Int32"));
  return static_cast<int32_t>(value);
}
Result<uint64_t> WireReader::ReadU64() { return ReadBigEndian<uint64_t>("an Int64"); }
Result<int64_t> WireReader::ReadI64() {
  FRESHET_ASSIGN_OR_RETURN(uint64_t value, ReadBigEndian<uint64_t>("an Int64"));
  return static_cast<int64_t>(value);
}

Result<std::string_view> WireReader::ReadCString() {
  size_t end = data_.find('\0', position_);
  if (end == std::string_view::npos) {
    return Status::Corruption("truncated {}: string at byte {} has no terminating NUL", what_,
                              position_);
  }
  std::string_view text = data_.substr(position_, end - position_);
  position_ = end + 1;
  return text;
}

Result<std::string_view> WireReader::ReadBytes(size_t count) {
  if (remaining() < count) return Truncated(count, "a byte run");
  std::string_view bytes = data_.substr(position_, count);
  position_ += count;
  return bytes;
}

Result<std::string_view> WireReader::ReadCountedBytes(bool* is_null) {
  size_t start = position_;
  FRESHET_ASSIGN_OR_RETURN(int32_t length, ReadI32());
  *is_null = length == -1;
  if (*is_null) return std::string_view();
  if (length < 0) {
    return Status::Corruption("bad {}: negative length {} at byte {}", what_, length, start);
  }
  return ReadBytes(static_cast<size_t>(length));
}

std::string_view WireReader::ReadRest() {
  std::string_view rest = data_.substr(position_);
  position_ = data_.size();
  return rest;
}

Status WireReader::Skip(size_t count) {
  if (remaining() < count) return Truncated(count, "bytes to skip");
  position_ += count;
  return Status::Ok();
}

Status WireReader::ExpectEnd() const {
  if (empty()) return Status::Ok();
  return Status::Corruption("bad {}: {} unexpected bytes after the end at byte {}", what_,
                            remaining(), position_);
}

void WireWriter::PutCString(std::string_view text) {
  FRESHET_CHECK(text.find('\0') == std::string_view::npos) << "C string with a NUL inside";
  buffer_.append(text);
  buffer_.push_back('\0');
}

void WireWriter::PutCountedBytes(std::string_view bytes) {
  FRESHET_CHECK(bytes.size() <= INT32_MAX) << "byte run too long for an Int32 length";
  PutI32(static_cast<int32_t>(bytes.size()));
  buffer_.append(bytes);
}

void WireWriter::BeginMessage(char type) {
  buffer_.push_back(type);
  message_start_ = buffer_.size();
  PutI32(0);
}

void WireWriter::EndMessage() {
  size_t length = buffer_.size() - message_start_;
  FRESHET_CHECK(length <= INT32_MAX) << "message too long for an Int32 length";
  for (size_t i = 0; i < 4; ++i) {
    buffer_[message_start_ + i] = static_cast<char>((length >> (8 * (3 - i))) & 0xFF);
  }
}

}  // namespace freshet
