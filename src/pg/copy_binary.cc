#include "pg/copy_binary.h"

#include "common/wire.h"

namespace freshet::pg {
namespace {

constexpr std::string_view kSignature("PGCOPY\n\377\r\n\0", 11);

}  // namespace

Status CopyBinaryParser::Feed(std::string_view bytes) {
  bytes_ += bytes.size();
  if (trailer_seen_ && !bytes.empty()) {
    return Status::Corruption("binary COPY: {} bytes after the trailer", bytes.size());
  }
  // PostgreSQL sends one row per CopyData message, so rows rarely span pieces: parse straight
  // from the piece and keep only an unfinished tail.
  size_t used = 0;
  if (buffer_.empty()) {
    Status status = Parse(bytes, &used);
    buffer_.assign(bytes.substr(used));
    return status;
  }
  buffer_.append(bytes);
  Status status = Parse(buffer_, &used);
  buffer_.erase(0, used);
  return status;
}

Status CopyBinaryParser::Parse(std::string_view data, size_t* used) {
  for (;;) {
    WireReader reader(data.substr(*used), "binary COPY row");
    if (!header_done_) {
      if (reader.remaining() < kSignature.size() + 8) return Status::Ok();
      if (*reader.ReadBytes(kSignature.size()) != kSignature) {
        return Status::Corruption("binary COPY: bad signature");
      }
      uint32_t flags = *reader.ReadU32();
      // Bits 16-31 are critical: data we cannot read correctly without understanding them.
      if ((flags & 0xFFFF0000u) != 0) {
        return Status::Corruption("binary COPY: unknown critical flags 0x{:08x}", flags);
      }
      uint32_t extension = *reader.ReadU32();
      if (reader.remaining() < extension) return Status::Ok();
      (void)reader.Skip(extension);
      *used += reader.position();
      header_done_ = true;
      continue;
    }
    if (trailer_seen_) {
      if (!reader.empty()) {
        return Status::Corruption("binary COPY: {} bytes after the trailer", reader.remaining());
      }
      return Status::Ok();
    }
    auto count = reader.ReadI16();
    if (!count.ok()) return Status::Ok();  // wait for more bytes
    if (*count == -1) {
      trailer_seen_ = true;
      *used += reader.position();
      continue;
    }
    if (*count < 0) return Status::Corruption("binary COPY: field count {}", *count);
    Tuple tuple(static_cast<size_t>(*count));
    bool complete = true;
    for (Value& value : tuple) {
      auto length = reader.ReadI32();
      if (!length.ok()) {
        complete = false;
        break;
      }
      if (*length == -1) {
        value.kind = ValueKind::kNull;
        continue;
      }
      if (*length < 0) return Status::Corruption("binary COPY: field length {}", *length);
      auto field = reader.ReadBytes(static_cast<size_t>(*length));
      if (!field.ok()) {
        complete = false;
        break;
      }
      value.kind = ValueKind::kBinary;
      value.bytes.assign(*field);
    }
    if (!complete) return Status::Ok();
    *used += reader.position();
    ++rows_;
    FRESHET_RETURN_IF_ERROR(on_row_(std::move(tuple)));
  }
}

Status CopyBinaryParser::Finish() const {
  if (!trailer_seen_) {
    return Status::Corruption("binary COPY ended without its trailer ({} bytes unparsed)",
                              buffer_.size());
  }
  return Status::Ok();
}

}  // namespace freshet::pg
