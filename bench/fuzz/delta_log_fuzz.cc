// libFuzzer target for the Delta log parsers: commit lines (ParseActions), the schemaString
// of any metaData found, partition paths and deletion-vector bitmaps. Any input must give a
// value or a Status, never a crash, hang or sanitizer report.
//
//   bench/fuzz/run [SECONDS]     builds with clang++ -fsanitize=fuzzer,address,undefined

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lake/actions.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"
#include "lake/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  freshet::lake::ActionSet actions;
  freshet::Status parsed = freshet::lake::ParseActions(text, "fuzz.json", actions);
  if (parsed.ok() && actions.metadata) {
    auto schema = freshet::lake::ParseSchema(actions.metadata->schema_string);
    if (schema.ok()) (void)freshet::lake::SchemaToJson(*schema);
  }
  for (const auto& add : actions.adds) {
    (void)freshet::lake::ResolveDataPath("/table", add.path);
    if (add.deletion_vector) {
      (void)freshet::lake::DeletionVectorPath("/table", *add.deletion_vector);
    }
  }
  (void)freshet::lake::ParseRoaringBitmapArray(text);
  (void)freshet::lake::Z85Decode(text);
  (void)freshet::lake::ParseLogFileName(text);
  return 0;
}
