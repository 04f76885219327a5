// The gateway driven by real clients (psql, psycopg2, pgjdbc) and by a raw socket sending
// malformed bytes. One server for the whole suite, on a free loopback port, over Parquet
// files written through DuckDB.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>

#include "engine/database.h"
#include "engine/parquet.h"
#include "server/pgwire/server.h"
#include "server/pgwire/test_client.h"
#include "subprocess.h"

namespace freshet::server::pgwire {
namespace {

namespace fs = std::filesystem;
using freshet::testing::RunCommand;
using testing::RawClient;

constexpr char kPassword[] = "s3cret pass";

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("freshet-gateway-test-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    auto db = engine::Database::Open("", {.threads = 1});
    ASSERT_TRUE(db.ok());
    auto connection = db->Connect();
    ASSERT_TRUE(connection.ok());
    std::string orders = (*dir_ / "orders.parquet").string();
    std::string types = (*dir_ / "types.parquet").string();
    std::string salaries = (*dir_ / "salaries.parquet").string();
    ASSERT_TRUE(engine::WriteParquet(*connection,
                                     "SELECT range::INTEGER AS id, 'customer ' || (range % 10) AS "
                                     "customer, (range * 2.5)::DECIMAL(12,2) AS amount, "
                                     "DATE '2026-01-01' + (range % 30)::INTEGER AS day "
                                     "FROM range(1000)",
                                     orders)
                    .ok());
    ASSERT_TRUE(
        engine::WriteParquet(
            *connection,
            "SELECT 1::SMALLINT AS i2, 2::INTEGER AS i4, 9007199254740993::BIGINT AS i8, "
            "true AS b, 1.5::REAL AS f4, 0.1::DOUBLE AS f8, 12345.67::DECIMAL(10,2) AS num, "
            "'héllo, \"world\"' AS txt, DATE '2026-03-04' AS d, "
            "TIMESTAMP '2026-03-04 05:06:07.25' AS ts, "
            "TIMESTAMPTZ '2026-03-04 05:06:07+00' AS tstz, '\\x00\\xFF'::BLOB AS bytes, "
            "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS id, [1, 2, NULL] AS ints, "
            "TIME '13:14:15' AS t, NULL::INTEGER AS nothing",
            types)
            .ok());
    ASSERT_TRUE(
        engine::WriteParquet(*connection, "SELECT 'ceo' AS role, 1000000 AS pay", salaries).ok());

    catalog_ = new StaticTableCatalog();
    catalog_->AddParquetTable("public", "orders", {orders});
    catalog_->AddParquetTable("public", "types", {types});
    catalog_->AddParquetTable("hr", "salaries", {salaries});

    std::string cert = (*dir_ / "server.crt").string();
    std::string key = (*dir_ / "server.key").string();
    auto openssl =
        RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost"});
    ASSERT_TRUE(openssl.ok() && openssl->exit_code == 0) << openssl->output;

    auto verifier = MakeScramVerifier(kPassword);
    ASSERT_TRUE(verifier.ok());
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.tls = TlsFiles{cert, key};
    options.users = {User{"analyst", *verifier, {"public.*"}}, User{"admin", *verifier, {"*.*"}}};
    options.session = {.memory_limit_bytes = 512ULL << 20, .threads = 2};
    options.authentication_timeout = std::chrono::seconds(20);
    auto server = PgwireServer::Start(options, *catalog_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    delete server_;
    delete catalog_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string Dsn(std::string_view user = "analyst", std::string_view sslmode = "disable") {
    return fmt::format("host=127.0.0.1 port={} user={} dbname=lake sslmode={}", server_->port(),
                       user, sslmode);
  }

  // psql with the password in its environment; stdout and stderr together.
  static freshet::testing::CommandResult Psql(std::vector<std::string> args,
                                              std::string_view password = kPassword,
                                              std::string_view user = "analyst",
                                              std::string_view sslmode = "disable") {
    std::vector<std::string> argv = {"env",
                                     fmt::format("PGPASSWORD={}", password),
                                     "PGCONNECT_TIMEOUT=10",
                                     "psql",
                                     "-X",
                                     "-v",
                                     "VERBOSITY=verbose",
                                     Dsn(user, sslmode)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : freshet::testing::CommandResult{};
  }

  static fs::path* dir_;
  static StaticTableCatalog* catalog_;
  static PgwireServer* server_;
};

fs::path* GatewayTest::dir_ = nullptr;
StaticTableCatalog* GatewayTest::catalog_ = nullptr;
PgwireServer* GatewayTest::server_ = nullptr;

TEST_F(GatewayTest, PsqlRunsQueriesAfterScram) {
  auto result = Psql({"-A", "-t", "-c",
                      "SELECT count(*), sum(amount) FROM orders; SELECT current_user; "
                      "WITH t AS (SELECT customer, sum(amount) AS s FROM orders GROUP BY 1) "
                      "SELECT customer, rank() OVER (ORDER BY s DESC) FROM t ORDER BY 2 LIMIT 1"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("1000|1248750.00"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("analyst"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("customer 9|1"), std::string::npos) << result.output;
}

TEST_F(GatewayTest, PsqlReadsTypesAsPostgresPrintsThem) {
  auto result = Psql({"-A", "-t", "-F", "|", "-c", "SELECT * FROM types"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("1|2|9007199254740993|t|1.5|0.1|12345.67|héllo, \"world\"|"
                               "2026-03-04|2026-03-04 05:06:07.25|2026-03-04 05:06:07+00|\\x00ff|"
                               "6ba7b810-9dad-11d1-80b4-00c04fd430c8|{1,2,NULL}|13:14:15|"),
            std::string::npos)
      << result.output;
}

TEST_F(GatewayTest, ColumnsAreNamedAsPostgresNamesThem) {
  auto result = Psql({"-c", "SELECT count(*), sum(amount), max(id) AS biggest FROM orders"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(" count |    sum     | biggest"), std::string::npos)
      << result.output;
}

TEST_F(GatewayTest, PsqlOverTls) {
  auto result = Psql({"-A", "-t", "-c", "SELECT 42"}, kPassword, "analyst", "require");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("42"), std::string::npos) << result.output;
}

TEST_F(GatewayTest, PsqlIntrospection) {
  auto tables = Psql({"-c", "\\dt"});
  EXPECT_EQ(tables.exit_code, 0) << tables.output;
  EXPECT_NE(tables.output.find("orders"), std::string::npos) << tables.output;
  EXPECT_EQ(tables.output.find("salaries"), std::string::npos) << "denied table listed";
  auto describe = Psql({"-c", "\\d orders"});
  EXPECT_EQ(describe.exit_code, 0) << describe.output;
  EXPECT_NE(describe.output.find("customer"), std::string::npos) << describe.output;
  EXPECT_NE(describe.output.find("integer"), std::string::npos) << describe.output;
  EXPECT_NE(describe.output.find("numeric(12,2)"), std::string::npos) << describe.output;
  auto schemas = Psql({"-c", "\\dn"});
  EXPECT_EQ(schemas.exit_code, 0) << schemas.output;
  EXPECT_NE(schemas.output.find("public"), std::string::npos) << schemas.output;
  auto info = Psql({"-A", "-t", "-c",
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' ORDER BY 1; "
                    "SELECT column_name FROM information_schema.columns WHERE table_name = "
                    "'orders' ORDER BY ordinal_position; SHOW server_version; SELECT version()"});
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("public.orders\npublic.types"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("id\ncustomer\namount\nday"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("15.0 (freshet"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("PostgreSQL 15.0"), std::string::npos) << info.output;
}

TEST_F(GatewayTest, PsqlGetsPostgresSqlStates) {
  struct Case {
    std::string sql;
    std::string state;
  };
  for (const Case& c : std::vector<Case>{
           {"SELEC 1", "42601"},
           {"SELECT * FROM no_such_table", "42P01"},
           {"SELECT * FROM hr.salaries", "42501"},
           {"INSERT INTO orders VALUES (1, 'x', 1, DATE '2026-01-01')", "25006"},
           {"CREATE TABLE t (a INTEGER)", "25006"},
           {"COPY orders TO '/tmp/out.csv'", "25006"},
           {"SELECT no_such_column FROM orders", "42703"},
           {"SELECT 'abc'::INTEGER", "22P02"},
           {"SET no_such_parameter = 1", "42704"},
           {"SELECT * FROM read_csv('/etc/passwd')", "42501"},
       }) {
    auto result = Psql({"-c", c.sql});
    EXPECT_NE(result.exit_code, 0) << c.sql;
    EXPECT_NE(result.output.find("ERROR:  " + c.state), std::string::npos) << c.sql << "\n"
                                                                           << result.output;
  }
}

TEST_F(GatewayTest, AdminReadsEveryTable) {
  auto result = Psql({"-A", "-t", "-c", "SELECT role FROM hr.salaries"}, kPassword, "admin");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("ceo"), std::string::npos) << result.output;
}

TEST_F(GatewayTest, SetShowAndStatementTimeout) {
  auto result = Psql({"-A", "-t", "-c", "SET application_name = 'report'", "-c",
                      "SHOW application_name", "-c", "SET statement_timeout = 200", "-c",
                      "SELECT count(*) FROM range(10000000000) r WHERE hash(r.range) % 7 = 1"});
  EXPECT_NE(result.output.find("report"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("57014"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("statement timeout"), std::string::npos) << result.output;
}

TEST_F(GatewayTest, WrongPasswordAndUnknownUserAreRefusedAlike) {
  auto wrong = Psql({"-c", "SELECT 1"}, "not the password");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.output.find("password authentication failed for user \"analyst\""),
            std::string::npos)
      << wrong.output;
  auto unknown = Psql({"-c", "SELECT 1"}, kPassword, "mallory");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("password authentication failed for user \"mallory\""),
            std::string::npos)
      << unknown.output;
}

TEST_F(GatewayTest, MalformedStartupGetsAnErrorAndIsClosed) {
  {
    RawClient client;
    ASSERT_TRUE(client.Connect(server_->port()));
    client.Send(std::string("\0\0\0\x03", 4));  // a length below the minimum
    auto error = client.ReadError();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("08P01"), std::string::npos);
    EXPECT_TRUE(client.ClosedByServer());
  }
  {
    RawClient client;
    ASSERT_TRUE(client.Connect(server_->port()));
    client.Send(std::string("\0\0\0\x08\x12\x34\x56\x78", 8));  // protocol 4660.22136
    auto error = client.ReadError();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("0A000"), std::string::npos);
    EXPECT_NE(error->find("unsupported frontend protocol"), std::string::npos);
    EXPECT_TRUE(client.ClosedByServer());
  }
  {
    RawClient client;
    ASSERT_TRUE(client.Connect(server_->port()));
    client.Send(std::string("\0\0\0\x0e\0\x03\0\0user\0x", 14));  // no terminators
    auto error = client.ReadError();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("08P01"), std::string::npos);
    EXPECT_TRUE(client.ClosedByServer());
  }
}

TEST_F(GatewayTest, OversizedTruncatedAndUnknownMessagesCloseTheConnection) {
  {
    RawClient client;
    ASSERT_TRUE(client.Connect(server_->port()));
    ASSERT_TRUE(client.Login("analyst", kPassword));
    client.Send(std::string("Q\x7f\xff\xff\xff", 5));  // claims 2 GiB
    auto error = client.ReadError();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("08P01"), std::string::npos);
    EXPECT_NE(error->find("exceeds the limit"), std::string::npos);
    EXPECT_TRUE(client.ClosedByServer());
  }
  {
    RawClient client;
    ASSERT_TRUE(client.Connect(server_->port()));
    ASSERT_TRUE(client.Login("analyst", kPassword));
    client.Send(std::string("Q\0\0\0\x0cSELECT 1", 13));  // no NUL inside the message
    auto error = client.ReadError();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("08P01"), std::string::npos);
    EXPECT_TRUE(client.ClosedByServer());
  }
  {
    RawClient client;
    ASSERT_TRUE(client.Connect(server_->port()));
    ASSERT_TRUE(client.Login("analyst", kPassword));
    client.Send(std::string("B\0\0\0\x09\0\0\xff\xff\0", 10));  // Bind with a forged count
    auto error = client.ReadError();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("08P01"), std::string::npos);
    EXPECT_TRUE(client.ClosedByServer());
  }
  {
    RawClient client;
    ASSERT_TRUE(client.Connect(server_->port()));
    ASSERT_TRUE(client.Login("analyst", kPassword));
    client.Send(std::string("\x01\0\0\0\x04", 5));
    auto error = client.ReadError();
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("unexpected message type"), std::string::npos);
    EXPECT_TRUE(client.ClosedByServer());
  }
  // The server is unharmed.
  auto result = Psql({"-A", "-t", "-c", "SELECT 7"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST_F(GatewayTest, StopTellsIdleAndBusyClientsAndJoinsEveryThread) {
  auto verifier = MakeScramVerifier(kPassword);
  ASSERT_TRUE(verifier.ok());
  ServerOptions options;
  options.port = 0;
  options.users = {User{"analyst", *verifier, {"public.*"}}};
  auto server = PgwireServer::Start(options, *catalog_);
  ASSERT_TRUE(server.ok()) << server.status();
  RawClient idle;
  ASSERT_TRUE(idle.Connect((*server)->port()));
  ASSERT_TRUE(idle.Login("analyst", kPassword));
  RawClient busy;
  ASSERT_TRUE(busy.Connect((*server)->port()));
  ASSERT_TRUE(busy.Login("analyst", kPassword));
  WireWriter query;
  query.BeginMessage('Q');
  query.PutCString("SELECT count(*) FROM range(100000000000) r WHERE hash(r.range) % 7 = 1");
  query.EndMessage();
  ASSERT_TRUE(busy.Send(query.data()));
  // Both sessions are counted; the busy one may or may not have started its statement, and
  // either way it must hear 57P01 (or 57014 for the interrupted statement) and be closed.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*server)->connection_count() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto started = std::chrono::steady_clock::now();
  (*server)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  auto idle_error = idle.ReadError();
  ASSERT_TRUE(idle_error);
  EXPECT_NE(idle_error->find("57P01"), std::string::npos);
  EXPECT_TRUE(idle.ClosedByServer());
  auto busy_error = busy.ReadError();
  ASSERT_TRUE(busy_error);
  EXPECT_TRUE(busy_error->find("57P01") != std::string::npos ||
              busy_error->find("57014") != std::string::npos)
      << *busy_error;
  EXPECT_TRUE(busy.ClosedByServer());
  EXPECT_EQ((*server)->connection_count(), 0);
}

TEST_F(GatewayTest, SessionMemoryLimitStopsAGreedyQuery) {
  auto verifier = MakeScramVerifier(kPassword);
  ASSERT_TRUE(verifier.ok());
  ServerOptions options;
  options.port = 0;
  options.users = {User{"analyst", *verifier, {"public.*"}}};
  options.session = {.memory_limit_bytes = 32ULL << 20, .threads = 1};
  auto server = PgwireServer::Start(options, *catalog_);
  ASSERT_TRUE(server.ok()) << server.status();
  auto result = RunCommand(
      {"env", fmt::format("PGPASSWORD={}", kPassword), "psql", "-X", "-v", "VERBOSITY=verbose",
       fmt::format("host=127.0.0.1 port={} user=analyst dbname=lake sslmode=disable",
                   (*server)->port()),
       "-c", "SELECT length(string_agg(range::VARCHAR, ',')) FROM range(20000000)", "-c",
       "SELECT 'still serving'"});
  ASSERT_TRUE(result.ok());
  EXPECT_NE(result->output.find("53200"), std::string::npos) << result->output;
  EXPECT_NE(result->output.find("still serving"), std::string::npos) << result->output;
}

TEST_F(GatewayTest, CleartextPasswordsOnlyOverTls) {
  auto verifier = MakeScramVerifier(kPassword);
  ASSERT_TRUE(verifier.ok());
  ServerOptions options;
  options.port = 0;
  options.tls = TlsFiles{(*dir_ / "server.crt").string(), (*dir_ / "server.key").string(), true};
  options.users = {User{"analyst", *verifier, {"public.*"}}};
  auto server = PgwireServer::Start(options, *catalog_);
  ASSERT_TRUE(server.ok()) << server.status();
  std::string port = std::to_string((*server)->port());
  auto tls = RunCommand({"/usr/bin/python3", PGWIRE_TEST_DIR "/auth_request.py", port, "tls"});
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->output, "R 3\n");  // AuthenticationCleartextPassword
  auto plain = RunCommand({"/usr/bin/python3", PGWIRE_TEST_DIR "/auth_request.py", port, "plain"});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->output, "R 10\n");  // SASL: SCRAM-SHA-256
  for (const auto& [password, sslmode, ok] :
       std::vector<std::tuple<std::string, std::string, bool>>{{kPassword, "require", true},
                                                               {"wrong", "require", false},
                                                               {kPassword, "disable", true}}) {
    auto result = RunCommand(
        {"env", "PGPASSWORD=" + password, "psql", "-X", "-A", "-t",
         fmt::format("host=127.0.0.1 port={} user=analyst dbname=lake sslmode={}", port, sslmode),
         "-c", "SELECT 'in'"});
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->exit_code == 0, ok) << sslmode << " " << result->output;
    if (!ok) {
      EXPECT_NE(result->output.find("password authentication failed"), std::string::npos)
          << result->output;
    }
  }
}

TEST_F(GatewayTest, Psycopg2Client) {
  auto result = RunCommand({"/usr/bin/python3", PGWIRE_TEST_DIR "/psycopg2_client.py",
                            std::to_string(server_->port()), kPassword});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_NE(result->output.find("psycopg2 client: all checks passed"), std::string::npos)
      << result->output;
}

TEST_F(GatewayTest, JdbcClient) {
  std::string classes = (*dir_ / "jdbc").string();
  fs::create_directories(classes);
  auto compile = RunCommand({"javac", "-d", classes, PGWIRE_TEST_DIR "/JdbcClient.java"});
  ASSERT_TRUE(compile.ok());
  ASSERT_EQ(compile->exit_code, 0) << compile->output;
  auto result = RunCommand({"java", "-cp", "/usr/share/java/postgresql.jar:" + classes,
                            "JdbcClient", std::to_string(server_->port()), kPassword});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_NE(result->output.find("jdbc client: all checks passed"), std::string::npos)
      << result->output;
}

TEST_F(GatewayTest, NodePostgresClient) {
  // scripts/bootstrap installs node-postgres there (scripts/install-test-clients).
  ASSERT_TRUE(fs::exists(PGWIRE_NODE_DIR "/node_modules/pg"))
      << "run scripts/install-test-clients to install node-postgres";
  auto result = RunCommand(
      {"node", PGWIRE_NODE_DIR "/node_client.js", std::to_string(server_->port()), kPassword});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_NE(result->output.find("node client: all checks passed"), std::string::npos)
      << result->output;
}

}  // namespace
}  // namespace freshet::server::pgwire
