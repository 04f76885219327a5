#include "workload/generator.h"

#include <gtest/gtest.h>

#include "postgres_test.h"
#include "workload/pacer.h"

namespace freshet::workload {
namespace {

using testing::PostgresTest;

TEST(Pacer, SpreadsUnitsEvenly) {
  Pacer::Clock::time_point start{};
  Pacer pacer(start, 1000);
  EXPECT_EQ(pacer.DueTime(0), start);
  EXPECT_EQ(pacer.DueTime(500) - start, std::chrono::milliseconds(500));
  EXPECT_EQ(pacer.DueTime(3000) - start, std::chrono::seconds(3));
  Pacer unlimited(start, 0);
  EXPECT_EQ(unlimited.DueTime(1'000'000), start);
}

class GeneratorTest : public PostgresTest {
 protected:
  GeneratorOptions Options(uint64_t max_changes) {
    GeneratorOptions options;
    options.connection.dsn = dsn();
    options.changes_per_second = 0;
    options.duration = std::chrono::milliseconds(0);
    options.max_changes = max_changes;
    return options;
  }
};

TEST_F(GeneratorTest, CountsMatchWhatPostgresLogged) {
  // Seed first, then watch only the generated changes through a test_decoding slot: an
  // independent count of what the WAL holds.
  auto connection = Connect();
  ASSERT_TRUE(CreateShopSchema(connection, 1).ok());
  Sql("SELECT pg_create_logical_replication_slot('count_changes', 'test_decoding')");
  GeneratorOptions options = Options(3000);
  options.create_schema = false;
  auto stats = RunGenerator(options, nullptr, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(stats->changes(), 3000u);
  EXPECT_GT(stats->inserts, 0u);
  EXPECT_GT(stats->updates, 0u);
  EXPECT_GT(stats->deletes, 0u);
  auto counted = connection.Query(
      "SELECT count(*) FILTER (WHERE data ~ '^table public\\.\\w+: INSERT'), "
      "       count(*) FILTER (WHERE data ~ '^table public\\.\\w+: UPDATE'), "
      "       count(*) FILTER (WHERE data ~ '^table public\\.\\w+: DELETE'), "
      "       count(*) FILTER (WHERE data ~ '^COMMIT') "
      "FROM pg_logical_slot_get_changes('count_changes', NULL, NULL)");
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted->GetInt(0, 0), static_cast<int64_t>(stats->inserts));
  EXPECT_EQ(*counted->GetInt(0, 1), static_cast<int64_t>(stats->updates));
  EXPECT_EQ(*counted->GetInt(0, 2), static_cast<int64_t>(stats->deletes));
  EXPECT_EQ(*counted->GetInt(0, 3), static_cast<int64_t>(stats->transactions));
}

TEST_F(GeneratorTest, SomeCustomerNotesAreToasted) {
  auto stats = RunGenerator(Options(6000), nullptr, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  auto connection = Connect();
  auto toast = connection.Query(
      "SELECT (SELECT count(*) FROM customers WHERE length(notes) > 2000), "
      "       pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'customers'");
  ASSERT_TRUE(toast.ok()) << toast.status();
  EXPECT_GT(*toast->GetInt(0, 0), 0) << "no long notes generated";
  EXPECT_GT(*toast->GetInt(0, 1), 0) << "long notes were not stored out of line";
}

TEST_F(GeneratorTest, SameSeedGivesSameData) {
  std::string second = database() + "_b";
  ASSERT_TRUE(server().CreateDatabase(second).ok());
  GeneratorOptions a = Options(2000);
  GeneratorOptions b = a;
  b.connection.dsn = server().Dsn(second);
  ASSERT_TRUE(RunGenerator(a, nullptr, nullptr).ok());
  ASSERT_TRUE(RunGenerator(b, nullptr, nullptr).ok());
  std::string digest_sql =
      "SELECT md5(string_agg(format('%s|%s|%s|%s', id, customer_id, status, total), ',' "
      "ORDER BY id)) || (SELECT md5(string_agg(format('%s|%s|%s', order_id, line, quantity), ',' "
      "ORDER BY order_id, line)) FROM order_items) FROM orders";
  auto digest_a = Connect().Query(digest_sql);
  auto connection_b = pg::Connection::Open({.dsn = b.connection.dsn});
  ASSERT_TRUE(connection_b.ok());
  auto digest_b = connection_b->Query(digest_sql);
  ASSERT_TRUE(digest_a.ok() && digest_b.ok());
  EXPECT_EQ(digest_a->Get(0, 0), digest_b->Get(0, 0));
  connection_b = Status::Cancelled("closed");
  ASSERT_TRUE(server().DropDatabase(second).ok());
}

TEST_F(GeneratorTest, StopsWhenAsked) {
  int calls = 0;
  GeneratorOptions options = Options(0);
  auto stats = RunGenerator(
      options, [&] { return ++calls > 10; }, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_LE(stats->transactions, 10u);
}

TEST_F(GeneratorTest, EmptyTablesWithoutSchemaCreationIsAClearError) {
  auto connection = Connect();
  ASSERT_TRUE(connection
                  .Execute("CREATE TABLE customers (id bigint); CREATE TABLE products (id int); "
                           "CREATE TABLE orders (id bigint, status text); "
                           "CREATE TABLE order_items (order_id bigint)")
                  .ok());
  GeneratorOptions options = Options(10);
  options.create_schema = false;
  auto stats = RunGenerator(options, nullptr, nullptr);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("omit --no-schema"), std::string::npos);
}

}  // namespace
}  // namespace freshet::workload
