// libFuzzer target: arbitrary bytes through the pgoutput decoder, the transaction assembler and
// the binary value decoders. Any crash, sanitizer report or CHECK failure is a bug: every input
// must end in a value or a Status.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/wire.h"
#include "pg/change_sink.h"
#include "pg/pgoutput.h"
#include "pg/transaction_assembler.h"
#include "pg/types.h"

namespace {

class DiscardingSink : public freshet::pg::ChangeSink {
 public:
  freshet::Status OnBegin(const freshet::pg::TransactionInfo&) override { return {}; }
  freshet::Status OnSchemaEvent(const freshet::pg::SchemaEvent&) override { return {}; }
  freshet::Status OnChange(freshet::pg::Change&&) override { return {}; }
  freshet::Status OnMessage(freshet::pg::LogicalMessage&&) override { return {}; }
  freshet::Status OnCommit(const freshet::pg::TransactionInfo&) override { return {}; }
  freshet::Status OnRestart() override { return {}; }
};

}  // namespace

// Input: a sequence of frames, each an Int16 length then that many bytes. The first byte of
// the input picks a type OID for the value decoders.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static constexpr uint32_t kTypes[] = {16,   17,   20,   21,   23,   25,   700,  701,
                                        790,  829,  869,  650,  1082, 1083, 1114, 1184,
                                        1186, 1266, 1700, 2950, 3802, 1007, 1009, 1231};
  freshet::pg::TypeRegistry registry;
  if (!input.empty()) {
    uint32_t type = kTypes[static_cast<uint8_t>(input[0]) % std::size(kTypes)];
    auto datum = freshet::pg::DecodeBinary(input.substr(1), type, registry);
    if (datum.ok()) (void)freshet::pg::FormatPostgresText(*datum);
  }
  DiscardingSink sink;
  freshet::pg::TransactionAssembler assembler({.stream_memory_limit_bytes = 4096}, sink);
  freshet::WireReader reader(input, "fuzz input");
  while (!reader.empty()) {
    auto length = reader.ReadU16();
    if (!length.ok()) break;
    auto frame = reader.ReadBytes(*length);
    if (!frame.ok()) break;
    (void)freshet::pg::DecodePgoutput(*frame, {.in_streamed_block = (*length & 1) != 0});
    if (!assembler.Feed(*frame).ok()) assembler.Reset();
  }
  return 0;
}
