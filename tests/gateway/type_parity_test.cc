// The gateway returns every supported type exactly as PostgreSQL prints the same value: the
// same literal goes through a real PostgreSQL 15 and through the gateway (as a Parquet column
// written by DuckDB), and psql's output must match byte for byte.

#include <filesystem>

#include <gtest/gtest.h>

#include "engine/database.h"
#include "engine/parquet.h"
#include "postgres_test.h"
#include "server/pgwire/scram.h"
#include "server/pgwire/server.h"
#include "subprocess.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;

struct TypeCase {
  std::string name;
  std::string postgres;  // PostgreSQL expression
  std::string duckdb;    // DuckDB expression for the same value
};

const std::vector<TypeCase> kCases = {
    {"int2", "(-32768)::int2", "(-32768)::SMALLINT"},
    {"int4", "2147483647::int4", "2147483647::INTEGER"},
    {"int8", "(-9223372036854775807)::int8", "(-9223372036854775807)::BIGINT"},
    {"bool", "true", "true"},
    {"float4", "1.5::float4", "1.5::REAL"},
    {"float4_frac", "0.1::float4", "0.1::REAL"},
    {"float8", "0.1::float8", "0.1::DOUBLE"},
    {"float8_big", "1e20::float8", "1e20::DOUBLE"},
    {"float8_small", "1.5e-7::float8", "1.5e-7::DOUBLE"},
    {"float8_inf", "'Infinity'::float8", "'inf'::DOUBLE"},
    {"float8_nan", "'NaN'::float8", "'nan'::DOUBLE"},
    {"numeric", "12345.67::numeric(10,2)", "12345.67::DECIMAL(10,2)"},
    {"numeric_neg", "(-0.05)::numeric(4,2)", "(-0.05)::DECIMAL(4,2)"},
    {"numeric_wide", "12345678901234567890.123456789::numeric(38,9)",
     "12345678901234567890.123456789::DECIMAL(38,9)"},
    {"text", "'héllo, \"world\" | x'::text", "'héllo, \"world\" | x'"},
    {"empty_text", "''::text", "''"},
    {"date", "'2026-03-04'::date", "DATE '2026-03-04'"},
    {"date_old", "'0044-03-15'::date", "DATE '0044-03-15'"},
    {"timestamp", "'2026-03-04 05:06:07.25'::timestamp", "TIMESTAMP '2026-03-04 05:06:07.25'"},
    {"timestamp_us", "'1999-12-31 23:59:59.999999'::timestamp",
     "TIMESTAMP '1999-12-31 23:59:59.999999'"},
    {"timestamptz", "'2026-03-04 05:06:07+02'::timestamptz",
     "TIMESTAMPTZ '2026-03-04 05:06:07+02'"},
    {"time", "'13:14:15.5'::time", "TIME '13:14:15.5'"},
    {"interval", "'1 year 2 mons 3 days 04:05:06.5'::interval",
     "INTERVAL '1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds'"},
    {"interval_zero", "'0'::interval", "INTERVAL '0 seconds'"},
    {"bytea", "'\\x00ff10'::bytea", "'\\x00\\xFF\\x10'::BLOB"},
    {"uuid", "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid",
     "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID"},
    {"int_array", "ARRAY[1, NULL, 3]::int4[]", "[1, NULL, 3]::INTEGER[]"},
    {"text_array", "ARRAY['a b', NULL, '', 'x\"y', 'NULL', 'plain']::text[]",
     "['a b', NULL, '', 'x\"y', 'NULL', 'plain']"},
    {"null", "NULL::int4", "NULL::INTEGER"},
};

class TypeParityTest : public testing::PostgresTest {};

TEST_F(TypeParityTest, GatewayPrintsWhatPostgresPrints) {
  fs::path dir = fs::temp_directory_path() / ("freshet-parity-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string select_pg;
  std::string select_duck;
  for (const auto& c : kCases) {
    select_pg += (select_pg.empty() ? "SELECT " : ", ") + c.postgres + " AS " + c.name;
    select_duck += (select_duck.empty() ? "SELECT " : ", ") + c.duckdb + " AS " + c.name;
  }
  auto db = engine::Database::Open("", {.threads = 1});
  ASSERT_TRUE(db.ok());
  auto connection = db->Connect();
  ASSERT_TRUE(connection.ok());
  std::string file = (dir / "types.parquet").string();
  auto written = engine::WriteParquet(*connection, select_duck, file);
  ASSERT_TRUE(written.ok()) << written.status();

  server::StaticTableCatalog catalog;
  catalog.AddParquetTable("public", "types", {file});
  auto verifier = server::pgwire::MakeScramVerifier("pw");
  ASSERT_TRUE(verifier.ok());
  server::pgwire::ServerOptions options;
  options.port = 0;
  options.users = {server::pgwire::User{"u", *verifier, {"*.*"}}};
  auto gateway = server::pgwire::PgwireServer::Start(options, catalog);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  for (const auto& c : kCases) {
    auto postgres = RunCommand({"env", "PGTZ=UTC", "psql", "-X", "-A", "-t", "-c",
                                "SELECT " + c.postgres, server().Dsn(database())});
    auto ours = RunCommand({"env", "PGPASSWORD=pw", "psql", "-X", "-A", "-t", "-c",
                            "SELECT " + c.name + " FROM types",
                            fmt::format("host=127.0.0.1 port={} user=u dbname=lake sslmode=disable",
                                        (*gateway)->port())});
    ASSERT_TRUE(postgres.ok() && ours.ok());
    ASSERT_EQ(postgres->exit_code, 0) << postgres->output;
    ASSERT_EQ(ours->exit_code, 0) << ours->output;
    EXPECT_EQ(ours->output, postgres->output) << c.name;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace freshet
