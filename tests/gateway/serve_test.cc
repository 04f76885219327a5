// `freshet serve` and `freshet passwd` as an operator runs them: the binary, a configuration
// file, psql, and SIGTERM for a graceful stop.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "engine/database.h"
#include "engine/parquet.h"
#include "lake/fs/file_system.h"
#include "lake/schema.h"
#include "lake/table_writer.h"
#include "subprocess.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;

// A free loopback port: bind to port 0, read it back, close.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("freshet-serve-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // Starts `freshet serve`, its output going to a file.
  void StartServe(const fs::path& config) {
    log_ = dir_ / "serve.log";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      FILE* out = freopen(log_.c_str(), "w", stderr);
      (void)out;
      dup2(STDERR_FILENO, STDOUT_FILENO);
      execl(FRESHET_BINARY, FRESHET_BINARY, "serve", "--config", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  std::string ReadLog() {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  testing::CommandResult Psql(int port, const std::string& sql) {
    auto result =
        RunCommand({"env", "PGPASSWORD=pa55", "PGCONNECT_TIMEOUT=5", "psql", "-X", "-A", "-t",
                    fmt::format("host=127.0.0.1 port={} user=bi dbname=any "
                                "sslmode=disable",
                                port),
                    "-c", sql});
    EXPECT_TRUE(result.ok());
    return result.ok() ? *result : testing::CommandResult{};
  }

  fs::path dir_;
  fs::path log_;
  pid_t pid_ = -1;
};

TEST_F(ServeTest, ServesConfiguredTablesAndStopsOnSigterm) {
  auto db = engine::Database::Open("", {.threads = 1});
  ASSERT_TRUE(db.ok());
  auto connection = db->Connect();
  ASSERT_TRUE(connection.ok());
  ASSERT_TRUE(engine::WriteParquet(*connection, "SELECT range AS n FROM range(10)",
                                   (dir_ / "numbers.parquet").string())
                  .ok());

  std::ofstream(dir_ / "pw") << "pa55\n";
  auto passwd = RunCommand({FRESHET_BINARY, "passwd", "--password-file", (dir_ / "pw").string()});
  ASSERT_TRUE(passwd.ok());
  ASSERT_EQ(passwd->exit_code, 0) << passwd->output;
  std::string verifier = passwd->output.substr(0, passwd->output.find('\n'));
  EXPECT_TRUE(verifier.starts_with("SCRAM-SHA-256$4096:")) << verifier;

  int port = FreePort();
  std::ofstream(dir_ / "freshet.yaml") << fmt::format(
      "server:\n  pgwire:\n    listen: 127.0.0.1:{}\n    users:\n      - name: bi\n"
      "        password: \"{}\"\n        grants: [\"*.*\"]\n    tables:\n"
      "      - name: public.numbers\n        files: [numbers.parquet]\n",
      port, verifier);
  StartServe(dir_ / "freshet.yaml");

  // Wait for the listener with a deadline.
  testing::CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    result = Psql(port, "SELECT sum(n) FROM numbers");
    if (result.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(result.exit_code, 0) << result.output << ReadLog();
  EXPECT_NE(result.output.find("45"), std::string::npos) << result.output;

  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  int status = 0;
  pid_t waited = 0;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((waited = waitpid(pid_, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(waited, pid_) << "freshet serve did not stop on SIGTERM";
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadLog();
  EXPECT_NE(ReadLog().find("pgwire: stopped"), std::string::npos) << ReadLog();
}

// A Delta table with one BIGINT column `n` holding [from, to).
void WriteLakeTable(const std::string& path, int from, int to) {
  lake::LocalFileSystem fs;
  auto db = engine::Database::Open("", {.threads = 1});
  ASSERT_TRUE(db.ok());
  auto connection = db->Connect();
  ASSERT_TRUE(connection.ok());
  if (!fs::exists(path + "/_delta_log")) {
    auto schema = lake::ParseSchema(
        R"({"type":"struct","fields":[{"name":"n","type":"long","nullable":true,"metadata":{}}]})");
    ASSERT_TRUE(schema.ok());
    ASSERT_TRUE(lake::CreateTable(fs, path, {*schema}).ok());
  }
  auto transaction = lake::Transaction::Begin(fs, *connection, path);
  ASSERT_TRUE(transaction.ok()) << transaction.status();
  ASSERT_TRUE(
      transaction->Append(fmt::format("SELECT range AS n FROM range({}, {})", from, to)).ok());
  ASSERT_TRUE(transaction->Commit().ok());
}

TEST_F(ServeTest, ServesLakeTablesOfPipelinesAndLakeRoots) {
  WriteLakeTable((dir_ / "lake/public/orders").string(), 0, 10);
  WriteLakeTable((dir_ / "extra/sales/items").string(), 0, 3);
  std::ofstream(dir_ / "pw") << "pa55\n";
  auto passwd = RunCommand({FRESHET_BINARY, "passwd", "--password-file", (dir_ / "pw").string()});
  ASSERT_TRUE(passwd.ok() && passwd->exit_code == 0);
  std::string verifier = passwd->output.substr(0, passwd->output.find('\n'));
  int port = FreePort();
  std::ofstream(dir_ / "freshet.yaml") << fmt::format(
      "pipelines:\n  - name: shop\n    source:\n      postgres:\n"
      "        dsn: postgres://freshet@127.0.0.1:1/shop\n        tables: [\"public.*\"]\n"
      "    lake:\n      root: {}\n"
      "server:\n  pgwire:\n    listen: 127.0.0.1:{}\n    lake_roots: [extra]\n    users:\n"
      "      - name: bi\n        password: \"{}\"\n        grants: [\"*.*\"]\n",
      (dir_ / "lake").string(), port, verifier);
  StartServe(dir_ / "freshet.yaml");
  testing::CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    result = Psql(port,
                  "SELECT (SELECT sum(n) FROM public.orders), (SELECT count(*) FROM "
                  "sales.items)");
    if (result.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(result.exit_code, 0) << result.output << ReadLog();
  EXPECT_EQ(result.output, "45|3\n");
  // A commit lands while the server runs; no restart needed.
  WriteLakeTable((dir_ / "lake/public/orders").string(), 10, 12);
  EXPECT_EQ(Psql(port, "SELECT sum(n) FROM public.orders").output, "66\n");
  EXPECT_NE(
      ReadLog().find("lake roots: " + (dir_ / "lake").string() + ", " + (dir_ / "extra").string()),
      std::string::npos)
      << ReadLog();
}

TEST_F(ServeTest, BadConfigurationNamesFileLineAndKey) {
  std::ofstream(dir_ / "bad.yaml") << "server:\n  pgwire:\n    listen: 127.0.0.1:1\n"
                                      "    userz: []\n";
  auto result = RunCommand({FRESHET_BINARY, "serve", "--config", (dir_ / "bad.yaml").string()});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_NE(result->output.find("bad.yaml:4"), std::string::npos) << result->output;
  EXPECT_NE(result->output.find("userz"), std::string::npos) << result->output;
}

}  // namespace
}  // namespace freshet
