// libFuzzer target for everything the SQL gateway parses from the network before a client is
// trusted: startup packets, message framing, every frontend message parser, the SCRAM
// exchange, and the SQL text handling applied to Query text (splitting, SET/SHOW, COPY,
// table_at/table_changes rewriting, parameter renumbering). Any crash, sanitizer report or
// timeout is a bug; parse errors are the expected outcome for most inputs.
//
//   bench/fuzz/run [SECONDS]

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "server/pgwire/protocol.h"
#include "server/pgwire/scram.h"
#include "server/pgwire/sql_text.h"
#include "server/pgwire/table_functions.h"
#include "server/pgwire/types.h"

namespace pgwire = freshet::server::pgwire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // Startup phase: a length prefix, then the packet.
  if (bytes.size() >= 4) {
    auto body_size = pgwire::StartupBodySize(bytes.substr(0, 4));
    if (body_size.ok()) (void)pgwire::ParseStartupPacket(bytes.substr(4, *body_size));
  }
  (void)pgwire::ParseStartupPacket(bytes);

  // Query phase: frame the bytes and parse each message by its type.
  std::string_view rest = bytes;
  while (!rest.empty()) {
    size_t consumed = 0;
    auto frame = pgwire::NextFrame(rest, pgwire::kMaxMessageBytes, &consumed);
    if (!frame.ok() || !frame->has_value()) break;
    std::string_view body = (*frame)->body;
    switch ((*frame)->type) {
      case 'Q':
        if (auto query = pgwire::ParseQuery(body); query.ok()) {
          for (const auto& statement : pgwire::SplitStatements(query->sql)) {
            (void)pgwire::ParseParameterCommand(statement);
            (void)pgwire::FirstKeyword(statement);
            (void)pgwire::ParseCopyToStdout(statement);
            // Lake table functions rewritten into subqueries, then parameters renumbered.
            auto rewritten =
                pgwire::RewriteTableFunctions(statement, [](const pgwire::TableFunctionCall& call) {
                  return freshet::Result<std::string>("SELECT '" + std::to_string(call.from) + "'");
                });
            if (rewritten.ok()) {
              std::map<int, int> renumber;
              for (int number : pgwire::ParameterNumbers(*rewritten)) {
                renumber[number] = static_cast<int>(renumber.size()) + 1;
              }
              (void)pgwire::RenumberParameters(*rewritten, renumber);
            }
          }
        }
        break;
      case 'P':
        (void)pgwire::ParseParse(body);
        break;
      case 'B':
        if (auto bind = pgwire::ParseBind(body); bind.ok()) {
          for (size_t i = 0; i < bind->parameters.size(); ++i) {
            if (bind->parameters[i]) {
              (void)pgwire::BinaryParameterToText(pgwire::oid::kNumeric, *bind->parameters[i]);
              (void)pgwire::BinaryParameterToText(pgwire::oid::kTimestamp, *bind->parameters[i]);
            }
          }
        }
        break;
      case 'D':
        (void)pgwire::ParseDescribe(body);
        break;
      case 'E':
        (void)pgwire::ParseExecute(body);
        break;
      case 'C':
        (void)pgwire::ParseClose(body);
        break;
      case 'p': {
        if (auto initial = pgwire::ParseSaslInitialResponse(body); initial.ok()) {
          pgwire::ScramVerifier verifier =
              pgwire::MakeScramVerifierWithSalt("pw", "0123456789abcdef", 1);
          pgwire::ScramServer server(verifier, false);
          if (server.HandleClientFirst(initial->data).ok()) {
            (void)server.HandleClientFinal(initial->data);
          }
        }
        (void)pgwire::ScramVerifier::Parse(body);
        break;
      }
      default:
        break;
    }
    rest.remove_prefix(consumed);
  }
  return 0;
}
