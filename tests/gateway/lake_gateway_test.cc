// The SQL gateway over lake tables, driven by psql and psycopg2: tables found under a lake
// root, new commits visible to the next statement of the same session, table_at() by version
// and by time, table_changes(), `SET freshet.snapshot = '<LSN>'` over a hand-written watermark
// log, grants, and the errors clients see. Tables are written through lake::Transaction, as
// the pipeline writes them.

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/schema.h"
#include "lake/table_writer.h"
#include "lake/test_util.h"
#include "lake/upsert_writer.h"
#include "server/lake_table_catalog.h"
#include "server/pgwire/scram.h"
#include "server/pgwire/server.h"
#include "server/pgwire/test_client.h"
#include "subprocess.h"

namespace freshet::server {
namespace {

namespace fs = std::filesystem;
using freshet::testing::RunCommand;

constexpr char kPassword[] = "lake pass";

constexpr char kOrdersSchema[] = R"json({"type":"struct","fields":[
  {"name":"id","type":"long","nullable":false,"metadata":{}},
  {"name":"customer","type":"string","nullable":true,"metadata":{}},
  {"name":"amount","type":"decimal(10,2)","nullable":true,"metadata":{}}]})json";

std::string CommitFile(const std::string& table, int64_t version) {
  return fmt::format("{}/_delta_log/{:020}.json", table, version);
}

class LakeGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(
        (fs::temp_directory_path() / ("freshet-lake-gateway-" + std::to_string(getpid())))
            .string());
    fs::remove_all(*root_);
    fs::create_directories(*root_);
    fs_ = new lake::LocalFileSystem();
    auto db = engine::Database::Open("", {.threads = 1});
    ASSERT_TRUE(db.ok());
    database_ = new engine::Database(std::move(db).value());
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok());
    connection_ = new engine::Connection(std::move(connection).value());

    // public.orders: v0 empty, v1 three rows, v2 five rows; committed on Jan 1, 2 and 3.
    std::string orders = Table("public", "orders");
    CreateTable(orders);
    Append(orders, 1, 4);
    Append(orders, 4, 6);
    for (int version = 0; version <= 2; ++version) {
      SetCommitTime(orders, version, fmt::format("2026-01-0{} 00:00:00", version + 1));
    }
    std::string salaries = Table("hr", "salaries");
    CreateTable(salaries);
    Append(salaries, 1, 2);

    // The watermark log a pipeline writes: at 0/1000 orders was at v1, at 0/2000 at v2.
    WriteWatermark(0x1000, R"({"public.orders":1,"hr.salaries":1})");
    WriteWatermark(0x2000, R"({"public.orders":2,"hr.salaries":1})");

    auto catalog = LakeTableCatalog::Open(*fs_, {.roots = {*root_}});
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = catalog->release();
    auto verifier = pgwire::MakeScramVerifier(kPassword);
    ASSERT_TRUE(verifier.ok());
    pgwire::ServerOptions options;
    options.port = 0;
    options.users = {pgwire::User{"analyst", *verifier, {"public.*"}},
                     pgwire::User{"admin", *verifier, {"*.*"}}};
    options.session = {.memory_limit_bytes = 256ULL << 20, .threads = 1};
    auto server = pgwire::PgwireServer::Start(options, *catalog_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    delete server_;
    delete catalog_;
    delete connection_;
    delete database_;
    delete fs_;
    fs::remove_all(*root_);
    delete root_;
  }

  static std::string Table(const std::string& schema, const std::string& name) {
    return *root_ + "/" + schema + "/" + name;
  }

  static void CreateTable(const std::string& path) {
    auto schema = lake::ParseSchema(kOrdersSchema);
    ASSERT_TRUE(schema.ok());
    lake::CreateTableOptions options{*schema, {}, {{"delta.enableChangeDataFeed", "true"}}};
    ASSERT_TRUE(lake::CreateTable(*fs_, path, options).ok());
  }

  // Appends ids [from, to) and commits; returns the version.
  static int64_t Append(const std::string& path, int from, int to) {
    auto transaction = lake::Transaction::Begin(*fs_, *connection_, path);
    EXPECT_TRUE(transaction.ok()) << transaction.status();
    if (!transaction.ok()) return -1;
    auto added = transaction->Append(fmt::format(
        "SELECT i AS id, 'customer ' || i AS customer, (i * 1.5)::DECIMAL(10,2) AS amount "
        "FROM range({}, {}) t(i)",
        from, to));
    EXPECT_TRUE(added.ok()) << added.status();
    auto version = transaction->Commit();
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? *version : -1;
  }

  static void SetCommitTime(const std::string& table, int64_t version, const std::string& utc) {
    std::tm tm{};
    strptime(utc.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
    timespec times[2] = {{timegm(&tm), 0}, {timegm(&tm), 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, CommitFile(table, version).c_str(), times, 0), 0);
  }

  static void WriteWatermark(uint64_t lsn, const std::string& tables) {
    std::string text = fmt::format(R"({{"pipeline":"shop","lsn":"{}","commit_time_ms":0,)"
                                   R"("tables":{}}})",
                                   Lsn(lsn), tables);
    ASSERT_TRUE(
        fs_->Put(fmt::format("{}/_freshet/watermarks/{:020}.json", *root_, lsn), text).ok());
  }

  // Commits ids [from, to) to `path` but moves the commit file aside: renaming it back makes
  // the commit visible at a moment the test chooses. Returns {stashed, commit file}.
  static std::pair<std::string, std::string> StashedCommit(const std::string& path, int from,
                                                           int to) {
    int64_t version = Append(path, from, to);
    std::string commit = CommitFile(path, version);
    std::string stashed =
        fmt::format("{}/stash-{}-{}.json", *root_, fs::path(path).filename().string(), version);
    fs::rename(commit, stashed);
    return {stashed, commit};
  }

  static testing::CommandResult Psql(std::vector<std::string> args,
                                     std::string_view user = "analyst") {
    std::vector<std::string> argv = {
        "env",
        fmt::format("PGPASSWORD={}", kPassword),
        "PGCONNECT_TIMEOUT=10",
        "psql",
        "-X",
        "-A",
        "-t",
        "-v",
        "VERBOSITY=verbose",
        fmt::format("host=127.0.0.1 port={} user={} dbname=lake sslmode=disable", server_->port(),
                    user)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : testing::CommandResult{};
  }

  static std::string* root_;
  static lake::LocalFileSystem* fs_;
  static engine::Database* database_;
  static engine::Connection* connection_;
  static LakeTableCatalog* catalog_;
  static pgwire::PgwireServer* server_;
};

std::string* LakeGatewayTest::root_ = nullptr;
lake::LocalFileSystem* LakeGatewayTest::fs_ = nullptr;
engine::Database* LakeGatewayTest::database_ = nullptr;
engine::Connection* LakeGatewayTest::connection_ = nullptr;
LakeTableCatalog* LakeGatewayTest::catalog_ = nullptr;
pgwire::PgwireServer* LakeGatewayTest::server_ = nullptr;

TEST_F(LakeGatewayTest, PsqlReadsTheLatestVersionOfALakeTable) {
  auto result = Psql({"-c", "SELECT count(*), sum(amount) FROM public.orders", "-c",
                      "SELECT customer FROM orders WHERE id = 4"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "5|22.50\ncustomer 4\n");
}

TEST_F(LakeGatewayTest, ANewTableAndANewCommitAreVisibleToTheNextStatement) {
  // Created after the server started; the session sees v1, then v2 once its commit lands.
  std::string events = Table("public", "events");
  CreateTable(events);
  Append(events, 1, 3);
  auto [stashed, commit] = StashedCommit(events, 3, 6);
  auto result = Psql({"-c", "SELECT count(*) FROM public.events", "-c",
                      fmt::format("\\! mv {} {}", stashed, commit), "-c",
                      "SELECT count(*), max(id) FROM public.events"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "2\n5|5\n");
}

// Bind + Execute + Sync of the named statement "s"; the text of the first column of each
// DataRow, or the ErrorResponse.
std::string ExecuteNamed(pgwire::testing::RawClient& client) {
  WireWriter out;
  out.BeginMessage('B');
  out.PutCString("");
  out.PutCString("s");
  out.PutI16(0);
  out.PutI16(0);
  out.PutI16(0);
  out.EndMessage();
  out.BeginMessage('E');
  out.PutCString("");
  out.PutI32(0);
  out.EndMessage();
  out.BeginMessage('S');
  out.EndMessage();
  client.Send(out.data());
  std::string rows;
  while (auto message = client.Read()) {
    if (message->first == 'Z') break;
    if (message->first == 'E') rows += "error";
    if (message->first != 'D') continue;
    WireReader reader(message->second);
    (void)reader.ReadI16();
    bool is_null = false;
    auto cell = reader.ReadCountedBytes(&is_null);
    rows += std::string(cell.ok() ? *cell : "?") + "\n";
  }
  return rows;
}

TEST_F(LakeGatewayTest, APreparedStatementSeesCommitsMadeAfterItWasParsed) {
  std::string visits = Table("public", "visits");
  CreateTable(visits);
  Append(visits, 1, 3);
  pgwire::testing::RawClient client;
  ASSERT_TRUE(client.Connect(server_->port()));
  ASSERT_TRUE(client.Login("analyst", kPassword));
  WireWriter parse;
  parse.BeginMessage('P');
  parse.PutCString("s");
  parse.PutCString("SELECT count(*) FROM public.visits");
  parse.PutI16(0);
  parse.EndMessage();
  client.Send(parse.data());
  EXPECT_EQ(ExecuteNamed(client), "2\n");
  Append(visits, 3, 7);
  EXPECT_EQ(ExecuteNamed(client), "6\n");
}

TEST_F(LakeGatewayTest, TableAtReadsOlderVersionsByNumberAndByTime) {
  auto result = Psql({
      "-c",
      "SELECT count(*) FROM table_at('public.orders', version => 1)",
      "-c",
      "SELECT count(*) FROM table_at('public.orders', version => 2) o WHERE o.id > 3",
      "-c",
      "SELECT count(*) FROM table_at('public.orders', timestamp => '2026-01-02 12:00:00+00')",
      "-c",
      "SELECT (SELECT count(*) FROM table_at('orders', version => 0)), "
      "(SELECT count(*) FROM table_at('orders', version => 2))",
  });
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "3\n2\n3\n0|5\n");
}

TEST_F(LakeGatewayTest, TableAtErrorsCarrySqlStates) {
  auto version = Psql({"-c", "SELECT * FROM table_at('public.orders', version => 99)"});
  EXPECT_NE(version.exit_code, 0);
  EXPECT_NE(version.output.find("22023"), std::string::npos) << version.output;
  EXPECT_NE(version.output.find("public.orders has no version 99; its latest version is 2"),
            std::string::npos)
      << version.output;
  auto early = Psql({"-c", "SELECT * FROM table_at('public.orders', timestamp => '2025-06-01')"});
  EXPECT_NE(early.output.find("22023"), std::string::npos) << early.output;
  EXPECT_NE(early.output.find("no version at or before"), std::string::npos) << early.output;
  auto unknown = Psql({"-c", "SELECT * FROM table_at('public.nope', version => 1)"});
  EXPECT_NE(unknown.output.find("42P01"), std::string::npos) << unknown.output;
  auto denied = Psql({"-c", "SELECT * FROM table_at('hr.salaries', version => 1)"});
  EXPECT_NE(denied.output.find("42501"), std::string::npos) << denied.output;
  // A name is a folder name, never a path.
  auto path = Psql({"-c", "SELECT * FROM table_at('hr/../public.orders', version => 1)"});
  EXPECT_NE(path.output.find("more than one dot"), std::string::npos) << path.output;
  auto slash = Psql({"-c", "SELECT * FROM table_at('x/public.orders', version => 1)"}, "admin");
  EXPECT_NE(slash.output.find("42P01"), std::string::npos) << slash.output;
  auto malformed = Psql({"-c", "SELECT * FROM table_at(orders, version => 1)"});
  EXPECT_NE(malformed.output.find("42601"), std::string::npos) << malformed.output;
}

TEST_F(LakeGatewayTest, TableChangesChecksGrantsTablesAndRanges) {
  auto denied = Psql({"-c", "SELECT * FROM table_changes('hr.salaries', 0, 1)"});
  EXPECT_NE(denied.output.find("42501"), std::string::npos) << denied.output;
  auto unknown = Psql({"-c", "SELECT * FROM table_changes('public.nope', 0)"});
  EXPECT_NE(unknown.output.find("42P01"), std::string::npos) << unknown.output;
  auto backwards = Psql({"-c", "SELECT * FROM table_changes('public.orders', 2, 1)"});
  EXPECT_NE(backwards.output.find("22023"), std::string::npos) << backwards.output;
  EXPECT_NE(backwards.output.find("are not a range"), std::string::npos) << backwards.output;
}

TEST_F(LakeGatewayTest, TableChangesReadsTheChangeFeed) {
  auto result = Psql({"-c",
                      "SELECT id, _change_type, _commit_version FROM "
                      "table_changes('public.orders', 1, 2) ORDER BY _commit_version, id",
                      "-c", "SELECT count(*) FROM table_changes('public.orders', 2)"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "1|insert|1\n2|insert|1\n3|insert|1\n4|insert|2\n5|insert|2\n2\n");
}

TEST_F(LakeGatewayTest, TableChangesShowsUpsertsAsInsertsUpdatesAndDeletes) {
  std::string accounts = Table("public", "accounts");
  CreateTable(accounts);
  auto writer = lake::UpsertWriter::Open(*fs_, *connection_, accounts, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto row = [](int64_t id, const std::string& customer) {
    return std::vector<engine::Value>{engine::Value::Int(id), engine::Value::String(customer),
                                      engine::Value::Null()};
  };
  lake::ChangeBatch first{{{lake::ChangeOp::kInsert, 10, row(1, "ann"), {}, {}},
                           {lake::ChangeOp::kInsert, 10, row(2, "bob"), {}, {}}}};
  ASSERT_TRUE(writer->Apply(first).ok());
  lake::ChangeBatch second{{{lake::ChangeOp::kUpdate, 20, row(1, "ann b"), {}, {}},
                            {lake::ChangeOp::kDelete, 20, {}, {}, row(2, "bob")}}};
  ASSERT_TRUE(writer->Apply(second).ok());
  auto result = Psql({"-c",
                      "SELECT _commit_version, _change_type, id, customer FROM "
                      "table_changes('public.accounts', 1)",
                      "-c", "SELECT count(*) FROM table_changes('public.accounts', 2, 2)", "-c",
                      "SELECT customer FROM public.accounts"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // Within a version, each key's changes in order; the rows a commit writes come last.
  EXPECT_EQ(result.output,
            "1|insert|1|ann\n1|insert|2|bob\n2|update_preimage|1|ann\n2|delete|2|bob\n2|update_"
            "postimage|1|ann b\n3\nann b\n");
}

TEST_F(LakeGatewayTest, GrantsApplyToLakeTables) {
  auto denied = Psql({"-c", "SELECT * FROM hr.salaries"});
  EXPECT_NE(denied.output.find("42501"), std::string::npos) << denied.output;
  // Granted tables only; the raw files of a table not granted are out of reach too.
  auto files = Psql({"-c", fmt::format("SELECT count(*) FROM read_parquet('{}/*.parquet')",
                                       Table("hr", "salaries"))});
  EXPECT_NE(files.exit_code, 0) << files.output;
  auto admin = Psql({"-c", "SELECT count(*) FROM hr.salaries"}, "admin");
  EXPECT_EQ(admin.output, "1\n");
}

TEST_F(LakeGatewayTest, IntrospectionListsLakeTablesAndWritesAreRefused) {
  auto tables = Psql({"-c", "\\dt public.*"});
  EXPECT_EQ(tables.exit_code, 0) << tables.output;
  EXPECT_NE(tables.output.find("public|orders|table"), std::string::npos) << tables.output;
  auto columns = Psql({"-c",
                       "SELECT column_name, data_type FROM information_schema.columns WHERE "
                       "table_name = 'orders' ORDER BY ordinal_position"});
  EXPECT_EQ(columns.output, "id|BIGINT\ncustomer|VARCHAR\namount|DECIMAL(10,2)\n");
  auto describe = Psql({"-c", "\\d public.orders"});
  EXPECT_NE(describe.output.find("amount"), std::string::npos) << describe.output;
  auto write = Psql({"-c", "INSERT INTO public.orders VALUES (9, 'x', 1)"});
  EXPECT_NE(write.output.find("25006"), std::string::npos) << write.output;
}

TEST_F(LakeGatewayTest, SnapshotSettingReadsEveryTableAsOfAWatermark) {
  auto result = Psql({"-c", "SET freshet.snapshot = '0/1800'", "-c", "SHOW freshet.snapshot", "-c",
                      "SELECT count(*) FROM public.orders", "-c", "SET freshet.snapshot = '0/2000'",
                      "-c", "SELECT count(*) FROM public.orders", "-c", "RESET freshet.snapshot",
                      "-c", "SHOW freshet.snapshot"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "SET\n0/1800\n3\nSET\n5\nRESET\nlatest\n");
}

TEST_F(LakeGatewayTest, SnapshotSettingRejectsMalformedAndExpiredLsns) {
  auto malformed = Psql({"-c", "SET freshet.snapshot = 'yesterday'"});
  EXPECT_NE(malformed.output.find("22023"), std::string::npos) << malformed.output;
  EXPECT_NE(malformed.output.find("'0/16B3748'"), std::string::npos) << malformed.output;
  auto expired = Psql({"-c", "SET freshet.snapshot = '0/10'", "-c", "SHOW freshet.snapshot"});
  EXPECT_NE(expired.output.find("22023"), std::string::npos) << expired.output;
  EXPECT_NE(expired.output.find("older than the oldest watermark kept"), std::string::npos)
      << expired.output;
}

TEST_F(LakeGatewayTest, Psycopg2SeesCommitsTimeTravelsAndPinsTransactions) {
  std::string clicks = Table("public", "clicks");
  CreateTable(clicks);
  Append(clicks, 1, 3);
  auto [stashed2, commit2] = StashedCommit(clicks, 3, 6);
  fs::rename(stashed2, commit2);
  auto [stashed3, commit3] = StashedCommit(clicks, 6, 10);
  fs::rename(commit2, stashed2);
  ASSERT_FALSE(fs::exists(commit3));
  auto result = RunCommand({"/usr/bin/python3", LAKE_TEST_DIR "/lake_client.py",
                            std::to_string(server_->port()), kPassword, stashed2, commit2, stashed3,
                            commit3});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_NE(result->output.find("lake client: all checks passed"), std::string::npos)
      << result->output;
}

TEST_F(LakeGatewayTest, JdbcListsLakeTablesAndReadsThem) {
  std::string classes = *root_ + "/jdbc";
  fs::create_directories(classes);
  auto compile = RunCommand({"javac", "-d", classes, LAKE_TEST_DIR "/LakeJdbc.java"});
  ASSERT_TRUE(compile.ok());
  ASSERT_EQ(compile->exit_code, 0) << compile->output;
  auto result = RunCommand({"java", "-cp", "/usr/share/java/postgresql.jar:" + classes, "LakeJdbc",
                            std::to_string(server_->port()), kPassword});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_NE(result->output.find("lake jdbc: all checks passed"), std::string::npos)
      << result->output;
}

TEST_F(LakeGatewayTest, ReadersSeeWholeCommitsInOrderWhileAWriterCommits) {
  std::string stream = Table("public", "stream");
  CreateTable(stream);
  Append(stream, 0, 10);
  constexpr int kCommits = 40;
  std::atomic<bool> failed = false;
  std::thread writer([&] {
    for (int commit = 1; commit < kCommits && !failed; ++commit) {
      if (Append(stream, commit * 10, commit * 10 + 10) < 0) failed = true;
    }
  });
  auto result =
      RunCommand({"/usr/bin/python3", LAKE_TEST_DIR "/lake_reader.py",
                  std::to_string(server_->port()), kPassword, std::to_string(kCommits * 10)});
  failed = failed || !result.ok() || result->exit_code != 0;
  writer.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_NE(result->output.find("lake reader:"), std::string::npos) << result->output;
  std::cout << result->output;
}

TEST_F(LakeGatewayTest, CatalogCachesScansByVersion) {
  auto first = Psql({"-c", "SELECT count(*) FROM table_at('public.orders', version => 1)"});
  int64_t before = catalog_->scans_built();
  auto second = Psql({"-c", "SELECT count(*) FROM table_at('public.orders', version => 1)"});
  EXPECT_EQ(first.output, "3\n");
  EXPECT_EQ(second.output, "3\n");
  // Nothing new was committed to the tables these sessions read: no scan rebuilt.
  EXPECT_EQ(catalog_->scans_built(), before) << "scans rebuilt for unchanged versions";
}

TEST_F(LakeGatewayTest, CopyToStdoutStreamsRowsAsTextOrCsv) {
  auto text =
      Psql({"-c",
            "COPY (SELECT id, customer FROM public.orders WHERE id <= 2 ORDER BY id) TO "
            "STDOUT",
            "-c", "COPY (SELECT 'a' || chr(9) || 'b' || chr(10) || 'c\\d', NULL) TO STDOUT"});
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_EQ(text.output, "1\tcustomer 1\n2\tcustomer 2\na\\tb\\nc\\\\d\t\\N\n");
  auto csv = Psql(
      {"-c",
       "COPY (SELECT 'a,b' AS x, NULL AS y, 'q\"' AS z, '' AS e) TO STDOUT WITH "
       "(FORMAT csv, HEADER)",
       "-c",
       "\\copy (SELECT id, amount FROM public.orders ORDER BY id) to stdout csv delimiter ';'"});
  EXPECT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_EQ(csv.output,
            "x,y,z,e\n\"a,b\",,\"q\"\"\",\"\"\n1;1.50\n2;3.00\n3;4.50\n4;6.00\n5;7.50\n");
  auto from = Psql({"-c", "COPY public.orders FROM STDIN"});
  EXPECT_NE(from.output.find("25006"), std::string::npos) << from.output;
  auto file = Psql({"-c", "COPY (SELECT 1) TO '/tmp/freshet-copy-out'"});
  EXPECT_NE(file.output.find("25006"), std::string::npos) << file.output;
  EXPECT_FALSE(fs::exists("/tmp/freshet-copy-out"));
  auto denied = Psql({"-c", "COPY hr.salaries TO STDOUT"});
  EXPECT_NE(denied.output.find("42501"), std::string::npos) << denied.output;
}

TEST(LakeTableCatalog, DiscoversTablesAndSkipsReservedAndHiddenFolders) {
  lake::LocalFileSystem fs;
  lake::testing::ScratchDir root;
  auto schema = lake::ParseSchema(kOrdersSchema);
  ASSERT_TRUE(schema.ok());
  for (std::string table : {"sales/items", "main/pg_class", "_freshet/state", "sales/.tmp"}) {
    ASSERT_TRUE(lake::CreateTable(fs, root / table, {*schema}).ok());
  }
  fs::create_directories(root / "sales/not_a_table");
  auto catalog = LakeTableCatalog::Open(fs, {.roots = {root.path()}});
  ASSERT_TRUE(catalog.ok());
  auto tables = (*catalog)->Discover();
  ASSERT_TRUE(tables.ok()) << tables.status();
  ASSERT_EQ(tables->size(), 1U);
  EXPECT_EQ(tables->front().first.schema, "sales");
  EXPECT_EQ(tables->front().first.name, "items");
  EXPECT_EQ(tables->front().second, 0);
}

TEST(LakeTableCatalog, ReadableDirectoriesFollowGrants) {
  lake::LocalFileSystem fs;
  auto catalog = LakeTableCatalog::Open(fs, {.roots = {"/lake"}});
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ((*catalog)->ReadableDirectories({"public.*"}),
            std::vector<std::string>{"/lake/public/"});
  EXPECT_EQ((*catalog)->ReadableDirectories({"sales.orders", "*.*"}),
            (std::vector<std::string>{"/lake/sales/orders/", "/lake/"}));
  EXPECT_TRUE((*catalog)->ReadableDirectories({}).empty());
}

}  // namespace
}  // namespace freshet::server
