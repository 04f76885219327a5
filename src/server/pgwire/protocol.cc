#include "server/pgwire/protocol.h"

namespace freshet::server::pgwire {
namespace {

// Reads an Int16 count of items that each take at least `min_item_bytes`, refusing counts the
// remaining bytes cannot hold, so a forged count never drives a large allocation.
Result<size_t> ReadCount(WireReader& reader, size_t min_item_bytes, std::string_view what) {
  FRESHET_ASSIGN_OR_RETURN(int16_t count, reader.ReadI16());
  if (count < 0) return Status::Corruption("{}: negative count {}", what, count);
  if (static_cast<size_t>(count) * min_item_bytes > reader.remaining()) {
    return Status::Corruption("{}: count {} exceeds the {} bytes left", what, count,
                              reader.remaining());
  }
  return static_cast<size_t>(count);
}

Result<Format> ReadFormat(WireReader& reader) {
  FRESHET_ASSIGN_OR_RETURN(int16_t code, reader.ReadI16());
  if (code != 0 && code != 1) return Status::Corruption("unknown format code {}", code);
  return static_cast<Format>(code);
}

Format PickFormat(const std::vector<Format>& formats, size_t index) {
  if (formats.empty()) return Format::kText;
  if (formats.size() == 1) return formats[0];
  return index < formats.size() ? formats[index] : Format::kText;
}

}  // namespace

std::string StartupMessage::Get(std::string_view name) const {
  for (const auto& [key, value] : parameters) {
    if (key == name) return value;
  }
  return "";
}

Result<size_t> StartupBodySize(std::string_view length_bytes) {
  WireReader reader(length_bytes, "startup packet");
  FRESHET_ASSIGN_OR_RETURN(int32_t length, reader.ReadI32());
  if (length < 8 || static_cast<size_t>(length) > kMaxStartupPacketBytes) {
    return Status::Corruption("invalid startup packet length {} (expected 8 to {})", length,
                              kMaxStartupPacketBytes);
  }
  return static_cast<size_t>(length) - 4;
}

Result<StartupPacket> ParseStartupPacket(std::string_view body) {
  WireReader reader(body, "startup packet");
  FRESHET_ASSIGN_OR_RETURN(int32_t code, reader.ReadI32());
  switch (code) {
    case kSslRequestCode:
      FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
      return StartupPacket{SslRequest{}};
    case kGssEncRequestCode:
      FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
      return StartupPacket{GssEncRequest{}};
    case kCancelRequestCode: {
      CancelRequest cancel;
      FRESHET_ASSIGN_OR_RETURN(cancel.process_id, reader.ReadI32());
      FRESHET_ASSIGN_OR_RETURN(cancel.secret_key, reader.ReadI32());
      FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
      return StartupPacket{cancel};
    }
    default:
      break;
  }
  if (code >> 16 != 3) {
    return Status::NotSupported("unsupported frontend protocol {}.{}: server supports 3.0",
                                code >> 16, code & 0xFFFF);
  }
  StartupMessage startup;
  startup.protocol = code;
  while (true) {
    FRESHET_ASSIGN_OR_RETURN(std::string_view key, reader.ReadCString());
    if (key.empty()) break;
    FRESHET_ASSIGN_OR_RETURN(std::string_view value, reader.ReadCString());
    startup.parameters.emplace_back(key, value);
  }
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return StartupPacket{std::move(startup)};
}

Result<std::optional<Frame>> NextFrame(std::string_view buffer, size_t max_body, size_t* consumed) {
  *consumed = 0;
  if (buffer.size() < 5) return std::optional<Frame>();
  WireReader reader(buffer.substr(1, 4), "message length");
  FRESHET_ASSIGN_OR_RETURN(int32_t length, reader.ReadI32());
  if (length < 4) {
    return Status::Corruption("invalid length {} in message of type '{}'", length,
                              buffer[0] >= 0x20 && buffer[0] < 0x7F ? buffer[0] : '?');
  }
  size_t body = static_cast<size_t>(length) - 4;
  if (body > max_body) {
    return Status::Corruption("message of {} bytes exceeds the limit of {} bytes", body, max_body);
  }
  if (buffer.size() < 5 + body) return std::optional<Frame>();
  *consumed = 5 + body;
  return std::optional<Frame>(Frame{buffer[0], buffer.substr(5, body)});
}

Format BindMessage::ParameterFormat(size_t index) const {
  return PickFormat(parameter_formats, index);
}
Format BindMessage::ResultFormat(size_t column) const { return PickFormat(result_formats, column); }

Result<QueryMessage> ParseQuery(std::string_view body) {
  WireReader reader(body, "Query");
  FRESHET_ASSIGN_OR_RETURN(std::string_view sql, reader.ReadCString());
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return QueryMessage{std::string(sql)};
}

Result<ParseMessage> ParseParse(std::string_view body) {
  WireReader reader(body, "Parse");
  ParseMessage parse;
  FRESHET_ASSIGN_OR_RETURN(std::string_view name, reader.ReadCString());
  FRESHET_ASSIGN_OR_RETURN(std::string_view sql, reader.ReadCString());
  parse.statement = name;
  parse.sql = sql;
  FRESHET_ASSIGN_OR_RETURN(size_t count, ReadCount(reader, 4, "Parse parameter types"));
  for (size_t i = 0; i < count; ++i) {
    FRESHET_ASSIGN_OR_RETURN(uint32_t oid, reader.ReadU32());
    parse.parameter_types.push_back(oid);
  }
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return parse;
}

Result<BindMessage> ParseBind(std::string_view body) {
  WireReader reader(body, "Bind");
  BindMessage bind;
  FRESHET_ASSIGN_OR_RETURN(std::string_view portal, reader.ReadCString());
  FRESHET_ASSIGN_OR_RETURN(std::string_view statement, reader.ReadCString());
  bind.portal = portal;
  bind.statement = statement;
  FRESHET_ASSIGN_OR_RETURN(size_t format_count, ReadCount(reader, 2, "Bind parameter formats"));
  for (size_t i = 0; i < format_count; ++i) {
    FRESHET_ASSIGN_OR_RETURN(Format format, ReadFormat(reader));
    bind.parameter_formats.push_back(format);
  }
  FRESHET_ASSIGN_OR_RETURN(size_t value_count, ReadCount(reader, 4, "Bind parameters"));
  if (format_count > 1 && format_count != value_count) {
    return Status::Corruption("Bind: {} parameter formats for {} parameters", format_count,
                              value_count);
  }
  for (size_t i = 0; i < value_count; ++i) {
    bool is_null = false;
    FRESHET_ASSIGN_OR_RETURN(std::string_view value, reader.ReadCountedBytes(&is_null));
    if (is_null) {
      bind.parameters.emplace_back(std::nullopt);
    } else {
      bind.parameters.emplace_back(std::string(value));
    }
  }
  FRESHET_ASSIGN_OR_RETURN(size_t result_count, ReadCount(reader, 2, "Bind result formats"));
  for (size_t i = 0; i < result_count; ++i) {
    FRESHET_ASSIGN_OR_RETURN(Format format, ReadFormat(reader));
    bind.result_formats.push_back(format);
  }
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return bind;
}

namespace {
Result<std::pair<char, std::string>> ParseKindAndName(std::string_view body,
                                                      std::string_view what) {
  WireReader reader(body, what);
  FRESHET_ASSIGN_OR_RETURN(uint8_t kind, reader.ReadU8());
  if (kind != 'S' && kind != 'P') {
    return Status::Corruption("{}: expected 'S' or 'P', got byte {}", what, kind);
  }
  FRESHET_ASSIGN_OR_RETURN(std::string_view name, reader.ReadCString());
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return std::pair<char, std::string>(static_cast<char>(kind), std::string(name));
}
}  // namespace

Result<DescribeMessage> ParseDescribe(std::string_view body) {
  FRESHET_ASSIGN_OR_RETURN(auto parsed, ParseKindAndName(body, "Describe"));
  return DescribeMessage{parsed.first, std::move(parsed.second)};
}

Result<CloseMessage> ParseClose(std::string_view body) {
  FRESHET_ASSIGN_OR_RETURN(auto parsed, ParseKindAndName(body, "Close"));
  return CloseMessage{parsed.first, std::move(parsed.second)};
}

Result<ExecuteMessage> ParseExecute(std::string_view body) {
  WireReader reader(body, "Execute");
  ExecuteMessage execute;
  FRESHET_ASSIGN_OR_RETURN(std::string_view portal, reader.ReadCString());
  execute.portal = portal;
  FRESHET_ASSIGN_OR_RETURN(execute.max_rows, reader.ReadI32());
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  if (execute.max_rows < 0) execute.max_rows = 0;
  return execute;
}

Result<SaslInitialResponse> ParseSaslInitialResponse(std::string_view body) {
  WireReader reader(body, "SASLInitialResponse");
  SaslInitialResponse response;
  FRESHET_ASSIGN_OR_RETURN(std::string_view mechanism, reader.ReadCString());
  response.mechanism = mechanism;
  bool is_null = false;
  FRESHET_ASSIGN_OR_RETURN(std::string_view data, reader.ReadCountedBytes(&is_null));
  response.data = data;
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return response;
}

// ---- backend

void WriteAuthenticationOk(WireWriter& out) {
  out.BeginMessage('R');
  out.PutI32(0);
  out.EndMessage();
}

void WriteAuthenticationCleartextPassword(WireWriter& out) {
  out.BeginMessage('R');
  out.PutI32(3);
  out.EndMessage();
}

void WriteAuthenticationSasl(WireWriter& out, std::string_view mechanism) {
  out.BeginMessage('R');
  out.PutI32(10);
  out.PutCString(mechanism);
  out.PutU8(0);
  out.EndMessage();
}

void WriteAuthenticationSaslContinue(WireWriter& out, std::string_view data) {
  out.BeginMessage('R');
  out.PutI32(11);
  out.PutBytes(data);
  out.EndMessage();
}

void WriteAuthenticationSaslFinal(WireWriter& out, std::string_view data) {
  out.BeginMessage('R');
  out.PutI32(12);
  out.PutBytes(data);
  out.EndMessage();
}

void WriteParameterStatus(WireWriter& out, std::string_view name, std::string_view value) {
  out.BeginMessage('S');
  out.PutCString(name);
  out.PutCString(value);
  out.EndMessage();
}

void WriteBackendKeyData(WireWriter& out, int32_t process_id, int32_t secret_key) {
  out.BeginMessage('K');
  out.PutI32(process_id);
  out.PutI32(secret_key);
  out.EndMessage();
}

void WriteReadyForQuery(WireWriter& out, char transaction_status) {
  out.BeginMessage('Z');
  out.PutU8(static_cast<uint8_t>(transaction_status));
  out.EndMessage();
}

void WriteRowDescription(WireWriter& out, const std::vector<FieldDescription>& fields) {
  out.BeginMessage('T');
  out.PutI16(static_cast<int16_t>(fields.size()));
  for (const auto& field : fields) {
    out.PutCString(field.name);
    out.PutU32(0);  // table OID
    out.PutI16(0);  // column number
    out.PutU32(field.type_oid);
    out.PutI16(field.type_size);
    out.PutI32(field.type_modifier);
    out.PutI16(static_cast<int16_t>(field.format));
  }
  out.EndMessage();
}

void WriteParameterDescription(WireWriter& out, const std::vector<uint32_t>& type_oids) {
  out.BeginMessage('t');
  out.PutI16(static_cast<int16_t>(type_oids.size()));
  for (uint32_t oid : type_oids) out.PutU32(oid);
  out.EndMessage();
}

void WriteCommandComplete(WireWriter& out, std::string_view tag) {
  out.BeginMessage('C');
  out.PutCString(tag);
  out.EndMessage();
}

void WriteEmptyQueryResponse(WireWriter& out) {
  out.BeginMessage('I');
  out.EndMessage();
}

namespace {
// Message text may come from DuckDB or the client and could hold a NUL; PutCString must not
// see one.
std::string WithoutNul(std::string_view text) {
  std::string out(text);
  std::erase(out, '\0');
  return out;
}

void WriteFields(WireWriter& out, char type, const ErrorFields& fields) {
  out.BeginMessage(type);
  auto put = [&](char code, std::string_view value) {
    if (value.empty()) return;
    out.PutU8(static_cast<uint8_t>(code));
    out.PutCString(WithoutNul(value));
  };
  put('S', fields.severity);
  put('V', fields.severity);
  put('C', fields.sqlstate);
  put('M', fields.message.empty() ? "unknown error" : fields.message);
  put('D', fields.detail);
  put('H', fields.hint);
  out.PutU8(0);
  out.EndMessage();
}
}  // namespace

void WriteError(WireWriter& out, const ErrorFields& error) { WriteFields(out, 'E', error); }
void WriteNotice(WireWriter& out, const ErrorFields& notice) { WriteFields(out, 'N', notice); }

void WriteParseComplete(WireWriter& out) {
  out.BeginMessage('1');
  out.EndMessage();
}
void WriteBindComplete(WireWriter& out) {
  out.BeginMessage('2');
  out.EndMessage();
}
void WriteCloseComplete(WireWriter& out) {
  out.BeginMessage('3');
  out.EndMessage();
}
void WriteCopyOutResponse(WireWriter& out, int16_t columns) {
  out.BeginMessage('H');
  out.PutU8(0);
  out.PutI16(columns);
  for (int16_t i = 0; i < columns; ++i) out.PutI16(0);
  out.EndMessage();
}
void WriteCopyData(WireWriter& out, std::string_view data) {
  out.BeginMessage('d');
  out.PutBytes(data);
  out.EndMessage();
}
void WriteCopyDone(WireWriter& out) {
  out.BeginMessage('c');
  out.EndMessage();
}
void WriteNoData(WireWriter& out) {
  out.BeginMessage('n');
  out.EndMessage();
}
void WritePortalSuspended(WireWriter& out) {
  out.BeginMessage('s');
  out.EndMessage();
}

}  // namespace freshet::server::pgwire
