#pragma once

// The PostgreSQL frontend/backend protocol, version 3: parsing what clients send and
// building what the server answers. Pure functions over bytes, no I/O, so every message can
// be tested (and fuzzed) alone. Sizes and counts come from the network and are never
// trusted: each read is bounds-checked by WireReader and every count is checked against the
// bytes left before anything is allocated.
//
// Startup-phase packets have no type byte (Int32 length, Int32 code, body); every later
// message is a type byte, an Int32 length that counts itself, and a body.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/wire.h"

namespace freshet::server::pgwire {

// PostgreSQL's own limit for startup packets.
inline constexpr size_t kMaxStartupPacketBytes = 10000;
// Largest message body accepted after startup; larger ones end the connection.
inline constexpr size_t kMaxMessageBytes = 16 * 1024 * 1024;

inline constexpr int32_t kProtocolVersion3 = 196608;  // 3.0
inline constexpr int32_t kSslRequestCode = 80877103;
inline constexpr int32_t kGssEncRequestCode = 80877104;
inline constexpr int32_t kCancelRequestCode = 80877102;

// ---- startup phase

struct SslRequest {};
struct GssEncRequest {};
struct CancelRequest {
  int32_t process_id = 0;
  int32_t secret_key = 0;
};
struct StartupMessage {
  int32_t protocol = 0;
  std::vector<std::pair<std::string, std::string>> parameters;
  // The value of `name`, or "" when absent.
  std::string Get(std::string_view name) const;
};
using StartupPacket = std::variant<SslRequest, GssEncRequest, CancelRequest, StartupMessage>;

// The Int32 length prefix of a startup packet, checked against kMaxStartupPacketBytes;
// returns the body size that follows.
Result<size_t> StartupBodySize(std::string_view length_bytes);
// `body` is the packet after its length prefix.
Result<StartupPacket> ParseStartupPacket(std::string_view body);

// ---- framing of typed messages

struct Frame {
  char type = 0;
  std::string_view body;
};

// Takes one complete message off the front of `buffer`: nullopt when more bytes are needed,
// Corruption when the length field is impossible or above `max_body`. `*consumed` is set to
// the bytes the frame used.
Result<std::optional<Frame>> NextFrame(std::string_view buffer, size_t max_body, size_t* consumed);

// ---- frontend messages

enum class Format : int16_t { kText = 0, kBinary = 1 };

struct QueryMessage {
  std::string sql;
};
struct ParseMessage {
  std::string statement;
  std::string sql;
  std::vector<uint32_t> parameter_types;
};
struct BindMessage {
  std::string portal;
  std::string statement;
  std::vector<Format> parameter_formats;
  std::vector<std::optional<std::string>> parameters;
  std::vector<Format> result_formats;

  // The format of parameter `index`, applying the protocol's zero/one/many rule.
  Format ParameterFormat(size_t index) const;
  Format ResultFormat(size_t column) const;
};
struct DescribeMessage {
  char kind = 0;  // 'S' statement, 'P' portal
  std::string name;
};
struct ExecuteMessage {
  std::string portal;
  int32_t max_rows = 0;  // 0: no limit
};
struct CloseMessage {
  char kind = 0;
  std::string name;
};
// SASLInitialResponse: the chosen mechanism and the client-first-message.
struct SaslInitialResponse {
  std::string mechanism;
  std::string data;
};

Result<QueryMessage> ParseQuery(std::string_view body);
Result<ParseMessage> ParseParse(std::string_view body);
Result<BindMessage> ParseBind(std::string_view body);
Result<DescribeMessage> ParseDescribe(std::string_view body);
Result<ExecuteMessage> ParseExecute(std::string_view body);
Result<CloseMessage> ParseClose(std::string_view body);
Result<SaslInitialResponse> ParseSaslInitialResponse(std::string_view body);

// ---- backend messages

// The fields of an ErrorResponse or NoticeResponse.
struct ErrorFields {
  std::string severity = "ERROR";  // ERROR, FATAL, NOTICE, WARNING
  std::string sqlstate = "XX000";
  std::string message;
  std::string detail;
  std::string hint;
};

struct FieldDescription {
  std::string name;
  uint32_t type_oid = 0;
  int16_t type_size = -1;
  int32_t type_modifier = -1;
  Format format = Format::kText;
};

void WriteAuthenticationOk(WireWriter& out);
void WriteAuthenticationSasl(WireWriter& out, std::string_view mechanism);
void WriteAuthenticationCleartextPassword(WireWriter& out);
void WriteAuthenticationSaslContinue(WireWriter& out, std::string_view data);
void WriteAuthenticationSaslFinal(WireWriter& out, std::string_view data);
void WriteParameterStatus(WireWriter& out, std::string_view name, std::string_view value);
void WriteBackendKeyData(WireWriter& out, int32_t process_id, int32_t secret_key);
void WriteReadyForQuery(WireWriter& out, char transaction_status);
void WriteRowDescription(WireWriter& out, const std::vector<FieldDescription>& fields);
void WriteParameterDescription(WireWriter& out, const std::vector<uint32_t>& type_oids);
void WriteCommandComplete(WireWriter& out, std::string_view tag);
void WriteEmptyQueryResponse(WireWriter& out);
void WriteError(WireWriter& out, const ErrorFields& error);
void WriteNotice(WireWriter& out, const ErrorFields& notice);
void WriteParseComplete(WireWriter& out);
void WriteBindComplete(WireWriter& out);
void WriteCloseComplete(WireWriter& out);
void WriteNoData(WireWriter& out);
void WritePortalSuspended(WireWriter& out);
// COPY ... TO STDOUT: CopyOutResponse (text format, `columns` text columns), one CopyData per
// row, CopyDone.
void WriteCopyOutResponse(WireWriter& out, int16_t columns);
void WriteCopyData(WireWriter& out, std::string_view data);
void WriteCopyDone(WireWriter& out);

}  // namespace freshet::server::pgwire
