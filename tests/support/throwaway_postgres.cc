#include "throwaway_postgres.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/sql_quote.h"
#include "pg/connection.h"
#include "subprocess.h"

namespace freshet::testing {
namespace {

namespace fs = std::filesystem;

bool RunningAsRoot() { return geteuid() == 0; }

Result<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (bind(fd, generic, sizeof(address)) != 0 || getsockname(fd, generic, &length) != 0) {
    Status status = Status::FromErrno(errno, "finding a free port on 127.0.0.1");
    close(fd);
    return status;
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string RandomPassword() {
  std::random_device device;
  std::string out;
  for (int i = 0; i < 24; ++i) out += "0123456789abcdef"[device() % 16];
  return out;
}

Status WriteFile(const std::string& path, const std::string& text, bool append) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::IOError("cannot write {}", path);
  return Status::Ok();
}

Status Chown(const std::string& path, const passwd* user) {
  if (user == nullptr) return Status::Ok();
  if (chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    return Status::FromErrno(errno, "chown " + path);
  }
  return Status::Ok();
}

Status Run(const std::vector<std::string>& argv, std::string_view what) {
  FRESHET_ASSIGN_OR_RETURN(CommandResult result, RunCommand(argv));
  if (result.exit_code != 0) {
    return Status::Internal("{} failed (exit {}): {}\n{}", what, result.exit_code,
                            JoinCommand(argv), result.output);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> FindPostgresBinDir() {
  if (const char* dir = std::getenv("FRESHET_PG_BINDIR"); dir != nullptr && *dir != '\0') {
    if (fs::exists(fs::path(dir) / "initdb")) return std::string(dir);
    return Status::NotFound("FRESHET_PG_BINDIR={} has no initdb", dir);
  }
  if (fs::exists("/usr/lib/postgresql/15/bin/initdb"))
    return std::string("/usr/lib/postgresql/15/bin");
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(entry.path() / "bin" / "initdb")) {
      std::string candidate = (entry.path() / "bin").string();
      if (candidate > best) best = candidate;
    }
  }
  if (!best.empty()) return best;
  return Status::NotFound(
      "no PostgreSQL server binaries (initdb) found; run scripts/bootstrap to install "
      "postgresql-15, or set FRESHET_PG_BINDIR");
}

Result<std::unique_ptr<ThrowawayPostgres>> ThrowawayPostgres::Start(
    const PostgresOptions& options) {
  std::unique_ptr<ThrowawayPostgres> server(new ThrowawayPostgres());
  FRESHET_ASSIGN_OR_RETURN(server->bindir_, FindPostgresBinDir());
  FRESHET_RETURN_IF_ERROR(server->InitDb());
  FRESHET_RETURN_IF_ERROR(server->StartServer(options));
  return server;
}

std::vector<std::string> ThrowawayPostgres::AsServerUser(std::vector<std::string> argv) const {
  if (!RunningAsRoot()) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

Status ThrowawayPostgres::InitDb() {
  const passwd* server_user = nullptr;
  if (RunningAsRoot()) {
    server_user = getpwnam("postgres");
    if (server_user == nullptr) {
      return Status::NotFound(
          "running as root, but there is no 'postgres' OS user to run PostgreSQL as; install "
          "postgresql-15 (scripts/bootstrap) or run as an ordinary user");
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = fmt::format("{}/freshet-pg-XXXXXX", tmp != nullptr && *tmp ? tmp : "/tmp");
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) return Status::FromErrno(errno, "mkdtemp " + pattern);
  root_ = buffer.data();
  data_ = root_ + "/data";
  // From here on the folder exists: start the guardian first so it is removed whatever happens.
  FRESHET_RETURN_IF_ERROR(StartGuardian());
  FRESHET_RETURN_IF_ERROR(Chown(root_, server_user));

  password_ = RandomPassword();
  std::string pwfile = root_ + "/pwfile";
  FRESHET_RETURN_IF_ERROR(WriteFile(pwfile, password_ + "\n", false));
  FRESHET_RETURN_IF_ERROR(Chown(pwfile, server_user));
  FRESHET_RETURN_IF_ERROR(
      Run(AsServerUser({bindir_ + "/initdb", "-D", data_, "-U", superuser_, "--pwfile=" + pwfile,
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                        "--no-locale", "--no-sync", "--no-instructions"}),
          "initdb"));
  fs::remove(pwfile);
  return Status::Ok();
}

Status ThrowawayPostgres::StartGuardian() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  // Waits for EOF on stdin (the owner is gone or done), then stops the server and removes it.
  std::string script =
      "cat >/dev/null; "
      "pg_ctl=$1; data=$2; root=$3; shift 3; "
      "\"$@\" \"$pg_ctl\" -D \"$data\" -m immediate -w stop; "
      "rm -rf \"$root\"";
  std::vector<std::string> args = {"/bin/sh",           "-c",  script, "freshet-pg-guardian",
                                   bindir_ + "/pg_ctl", data_, root_};
  if (RunningAsRoot()) {
    for (const char* part : {"runuser", "-u", "postgres", "--"}) args.emplace_back(part);
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Everything the child needs is prepared above: between fork and exec it may only make
  // async-signal-safe calls.
  pid_t pid = fork();
  if (pid < 0) {
    Status status = Status::FromErrno(errno, "fork");
    close(fds[0]);
    close(fds[1]);
    return status;
  }
  if (pid == 0) {
    dup2(fds[0], STDIN_FILENO);  // the read end; the write end is close-on-exec
    int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    setsid();  // out of the terminal's process group: Ctrl-C on the tests must not reach it
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    execv("/bin/sh", argv.data());
    _exit(127);
  }
  close(fds[0]);
  guardian_pipe_ = fds[1];
  guardian_pid_ = pid;
  return Status::Ok();
}

Status ThrowawayPostgres::StartServer(const PostgresOptions& options) {
  std::string conf = fmt::format(
      "\n# freshet throwaway server\n"
      "listen_addresses = '127.0.0.1'\n"
      "unix_socket_directories = '{}'\n"
      "wal_level = {}\n"
      "max_replication_slots = {}\n"
      "max_wal_senders = {}\n"
      "max_connections = 100\n"
      "shared_buffers = 64MB\n"
      // A throwaway server never survives a machine crash, so durability is wasted time.
      "fsync = off\n"
      "full_page_writes = off\n"
      "log_min_messages = warning\n",
      root_, options.wal_level, options.max_replication_slots, options.max_wal_senders);
  for (const auto& [name, value] : options.settings) conf += fmt::format("{} = {}\n", name, value);
  FRESHET_RETURN_IF_ERROR(WriteFile(data_ + "/postgresql.conf", conf, true));

  std::string log = root_ + "/server.log";
  Status last;
  // Another process may take the free port between our probe and the server's bind.
  for (int attempt = 0; attempt < 5; ++attempt) {
    FRESHET_ASSIGN_OR_RETURN(port_, FreeLoopbackPort());
    last = Run(AsServerUser({bindir_ + "/pg_ctl", "-D", data_, "-l", log, "-w", "-t", "60", "-o",
                             fmt::format("-p {}", port_), "start"}),
               "pg_ctl start");
    if (last.ok()) {
      running_ = true;
      return Status::Ok();
    }
    if (Log().find("could not bind") == std::string::npos) break;
  }
  return last.WithContext(fmt::format("server log:\n{}", Log()));
}

Status ThrowawayPostgres::Restart(std::string_view mode) {
  if (!running_) return Status::InvalidArgument("the throwaway server is not running");
  std::string log = root_ + "/server.log";
  Status status =
      Run(AsServerUser({bindir_ + "/pg_ctl", "-D", data_, "-l", log, "-m", std::string(mode), "-w",
                        "-t", "60", "-o", fmt::format("-p {}", port_), "restart"}),
          "pg_ctl restart");
  return status.WithContext(fmt::format("server log:\n{}", Log()));
}

ThrowawayPostgres::~ThrowawayPostgres() {
  Status status = Stop();
  if (!status.ok()) fmt::print(stderr, "throwaway PostgreSQL: {}\n", status.ToString());
}

Status ThrowawayPostgres::Stop() {
  Status status;
  if (running_) {
    status = Run(
        AsServerUser({bindir_ + "/pg_ctl", "-D", data_, "-m", "fast", "-w", "-t", "60", "stop"}),
        "pg_ctl stop");
    running_ = false;
  }
  if (!root_.empty()) {
    std::error_code ec;
    fs::remove_all(root_, ec);
    root_.clear();
  }
  if (guardian_pipe_ >= 0) {
    close(guardian_pipe_);  // the guardian finds nothing left to do and exits
    guardian_pipe_ = -1;
    waitpid(guardian_pid_, nullptr, 0);
  }
  return status;
}

std::string ThrowawayPostgres::Dsn(std::string_view database) const {
  return DsnFor(superuser_, password_, database);
}

std::string ThrowawayPostgres::DsnFor(std::string_view user, std::string_view password,
                                      std::string_view database) const {
  return fmt::format("postgres://{}{}{}@127.0.0.1:{}/{}", user, password.empty() ? "" : ":",
                     password, port_, database);
}

Status ThrowawayPostgres::Execute(std::string_view database, std::string_view sql) const {
  FRESHET_ASSIGN_OR_RETURN(auto connection, pg::Connection::Open({.dsn = Dsn(database)}));
  return connection.Execute(sql);
}

Status ThrowawayPostgres::CreateDatabase(std::string_view name) const {
  return Execute("postgres", "CREATE DATABASE " + QuoteIdentifier(name));
}

Status ThrowawayPostgres::DropDatabase(std::string_view name) const {
  FRESHET_ASSIGN_OR_RETURN(auto connection, pg::Connection::Open({.dsn = Dsn("postgres")}));
  std::string literal = QuoteLiteral(name);
  // Slots block DROP DATABASE, and an active slot cannot be dropped until its walsender has
  // exited; the walsender exits shortly after it is terminated, hence the bounded retry.
  Status dropped;
  for (int attempt = 0; attempt < 100; ++attempt) {
    FRESHET_RETURN_IF_ERROR(
        connection.Execute(fmt::format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE datname = {} AND pid <> pg_backend_pid()",
                                       literal)));
    dropped = connection.Execute(
        fmt::format("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE database = {}",
                    literal));
    if (dropped.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FRESHET_RETURN_IF_ERROR(dropped);
  return connection.Execute("DROP DATABASE IF EXISTS " + QuoteIdentifier(name) + " WITH (FORCE)");
}

std::string ThrowawayPostgres::Log() const {
  std::ifstream in(root_ + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace freshet::testing
