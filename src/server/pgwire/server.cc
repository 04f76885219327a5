#include "server/pgwire/server.h"

#include <sys/socket.h>

#include <list>
#include <mutex>
#include <random>
#include <thread>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "engine/database.h"
#include "server/pgwire/errors.h"
#include "server/pgwire/interrupter.h"
#include "server/pgwire/protocol.h"
#include "server/pgwire/scram.h"
#include "server/pgwire/session.h"
#include "server/pgwire/transport.h"

namespace freshet::server::pgwire {
namespace {

struct Connection {
  explicit Connection(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  asio::ip::tcp::socket socket;
  std::thread thread;
  std::atomic<bool> done{false};
  int32_t process_id = 0;
  int32_t secret_key = 0;
  std::shared_ptr<QueryInterrupter> interrupter;  // guarded by State::mutex, once authenticated
};

class TransportSink : public MessageSink {
 public:
  explicit TransportSink(Transport* transport) : transport_(transport) {}
  WireWriter& out() override { return writer_; }
  Status Flush() override {
    if (writer_.size() == 0) return Status::Ok();
    Status status = transport_->WriteAll(writer_.data());
    writer_.Clear();
    return status;
  }

 private:
  Transport* transport_;
  WireWriter writer_;
};

int32_t RandomInt32() {
  int32_t value = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof(value)) != 1) {
    value = static_cast<int32_t>(std::random_device{}());
  }
  return value;
}

}  // namespace

std::string ServerVersion() {
  return fmt::format("15.0 (freshet {}, DuckDB {})", FRESHET_VERSION_STRING,
                     engine::DuckDbVersion());
}

struct PgwireServer::State {
  ServerOptions options;
  const TableCatalog* catalog = nullptr;
  std::unique_ptr<TlsContext> tls;
  std::string decoy_secret;  // salts the decoy verifiers of unknown users
  Watchdog watchdog;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};

  std::mutex mutex;
  std::list<std::unique_ptr<Connection>> connections;  // guarded by mutex
  int32_t next_process_id = 1000;                      // guarded by mutex

  void AcceptLoop();
  void Serve(Connection& connection);
  void Cancel(const CancelRequest& request);
  Status Authenticate(const std::string& user_name, const User** user, MessageReader& reader,
                      TransportSink& sink);
  Status AuthenticateCleartext(const std::string& user_name, const User** user,
                               MessageReader& reader, TransportSink& sink);
};

void PgwireServer::State::Cancel(const CancelRequest& request) {
  std::lock_guard lock(mutex);
  for (auto& connection : connections) {
    if (connection->process_id == request.process_id &&
        connection->secret_key == request.secret_key && connection->interrupter != nullptr) {
      connection->interrupter->Interrupt(InterruptReason::kCancelRequest);
      return;
    }
  }
}

// Only ever called on TLS connections (see Serve).
Status PgwireServer::State::AuthenticateCleartext(const std::string& user_name, const User** user,
                                                  MessageReader& reader, TransportSink& sink) {
  *user = nullptr;
  for (const auto& candidate : options.users) {
    if (candidate.name == user_name) *user = &candidate;
  }
  WriteAuthenticationCleartextPassword(sink.out());
  FRESHET_RETURN_IF_ERROR(sink.Flush());
  FRESHET_ASSIGN_OR_RETURN(auto message, reader.ReadMessage(kMaxStartupPacketBytes));
  if (message.first != 'p') {
    return Status::Corruption("expected a PasswordMessage, got message type '{}'", message.first);
  }
  WireReader body(message.second, "PasswordMessage");
  FRESHET_ASSIGN_OR_RETURN(std::string_view password, body.ReadCString());
  // Unknown users cost the same PBKDF2 work as known ones.
  ScramVerifier verifier =
      *user != nullptr
          ? (*user)->verifier
          : MakeScramVerifierWithSalt(decoy_secret + user_name, decoy_secret.substr(0, 16), 4096);
  bool ok = VerifyPassword(verifier, password);
  if (!ok || *user == nullptr) return Status::PermissionDenied("password does not match");
  return Status::Ok();
}

Status PgwireServer::State::Authenticate(const std::string& user_name, const User** user,
                                         MessageReader& reader, TransportSink& sink) {
  *user = nullptr;
  for (const auto& candidate : options.users) {
    if (candidate.name == user_name) *user = &candidate;
  }
  // Unknown users go through the same exchange with a decoy verifier, so a client cannot
  // tell them from a wrong password.
  ScramVerifier verifier =
      *user != nullptr
          ? (*user)->verifier
          : MakeScramVerifierWithSalt(decoy_secret + user_name, decoy_secret.substr(0, 16), 4096);
  ScramServer scram(verifier, *user == nullptr);
  WriteAuthenticationSasl(sink.out(), kScramMechanism);
  FRESHET_RETURN_IF_ERROR(sink.Flush());

  FRESHET_ASSIGN_OR_RETURN(auto first, reader.ReadMessage(kMaxStartupPacketBytes));
  if (first.first != 'p') {
    return Status::Corruption("expected a SASLInitialResponse, got message type '{}'", first.first);
  }
  FRESHET_ASSIGN_OR_RETURN(SaslInitialResponse initial, ParseSaslInitialResponse(first.second));
  if (initial.mechanism != kScramMechanism) {
    return Status::InvalidArgument("unsupported SASL mechanism \"{}\"; use SCRAM-SHA-256",
                                   initial.mechanism);
  }
  FRESHET_ASSIGN_OR_RETURN(std::string server_first, scram.HandleClientFirst(initial.data));
  WriteAuthenticationSaslContinue(sink.out(), server_first);
  FRESHET_RETURN_IF_ERROR(sink.Flush());

  FRESHET_ASSIGN_OR_RETURN(auto final_message, reader.ReadMessage(kMaxStartupPacketBytes));
  if (final_message.first != 'p') {
    return Status::Corruption("expected a SASLResponse, got message type '{}'",
                              final_message.first);
  }
  FRESHET_ASSIGN_OR_RETURN(std::string server_final, scram.HandleClientFinal(final_message.second));
  WriteAuthenticationSaslFinal(sink.out(), server_final);
  return Status::Ok();
}

void PgwireServer::State::Serve(Connection& connection) {
  PlainTransport plain(connection.socket);
  std::unique_ptr<TlsTransport> tls_transport;
  Transport* transport = &plain;
  MessageReader reader(transport);
  TransportSink plain_sink(transport);
  auto fatal = [&](std::string_view state, std::string message) {
    WireWriter out;
    ErrorFields error = MakeError(state, std::move(message));
    error.severity = "FATAL";
    WriteError(out, error);
    (void)transport->WriteAll(out.data());
  };

  // A client that connects and says nothing is dropped after authentication_timeout.
  uint64_t login_alarm =
      watchdog.Arm(std::chrono::steady_clock::now() + options.authentication_timeout,
                   [fd = connection.socket.native_handle()] { ::shutdown(fd, SHUT_RDWR); });
  struct Disarm {
    Watchdog& watchdog;
    uint64_t id;
    bool armed = true;
    void operator()() {
      if (armed) watchdog.Disarm(id);
      armed = false;
    }
    ~Disarm() { (*this)(); }
  } disarm_login{watchdog, login_alarm};

  StartupMessage startup;
  for (int packets = 0;; ++packets) {
    auto length = reader.ReadExactly(4);
    if (!length.ok()) return;
    auto body_size = StartupBodySize(*length);
    if (!body_size.ok()) {
      fatal(sqlstate::kProtocolViolation, body_size.status().message());
      return;
    }
    auto body = reader.ReadExactly(*body_size);
    if (!body.ok()) return;
    auto packet = ParseStartupPacket(*body);
    if (!packet.ok()) {
      fatal(packet.status().code() == Code::kNotSupported ? sqlstate::kFeatureNotSupported
                                                          : sqlstate::kProtocolViolation,
            packet.status().message());
      return;
    }
    if (packets >= 3) {
      fatal(sqlstate::kProtocolViolation, "too many negotiation packets before startup");
      return;
    }
    if (std::holds_alternative<SslRequest>(*packet)) {
      if (tls == nullptr || tls_transport != nullptr) {
        if (!transport->WriteAll("N").ok()) return;
        continue;
      }
      if (reader.buffered() != 0) {  // bytes sent before TLS must not be read as if inside it
        fatal(sqlstate::kProtocolViolation, "received unencrypted data after SSL request");
        return;
      }
      if (!transport->WriteAll("S").ok()) return;
      tls_transport = std::make_unique<TlsTransport>(connection.socket, *tls);
      Status handshake = tls_transport->Handshake();
      if (!handshake.ok()) {
        spdlog::debug("pgwire: {}", handshake.message());
        return;
      }
      transport = tls_transport.get();
      reader.set_transport(transport);
      continue;
    }
    if (std::holds_alternative<GssEncRequest>(*packet)) {
      if (!transport->WriteAll("N").ok()) return;
      continue;
    }
    if (auto* cancel = std::get_if<CancelRequest>(&*packet)) {
      Cancel(*cancel);
      return;
    }
    startup = std::get<StartupMessage>(std::move(*packet));
    break;
  }

  TransportSink sink(transport);
  std::string user_name = startup.Get("user");
  if (user_name.empty()) {
    fatal(sqlstate::kInvalidAuthorization, "no PostgreSQL user name specified in startup packet");
    return;
  }
  {
    std::lock_guard lock(mutex);
    int active = 0;
    for (const auto& other : connections) active += other->done ? 0 : 1;
    if (active > options.max_connections) {
      fatal(sqlstate::kTooManyConnections, "sorry, too many clients already");
      return;
    }
  }
  const User* user = nullptr;
  Status auth = tls_transport != nullptr && options.tls && options.tls->cleartext_password
                    ? AuthenticateCleartext(user_name, &user, reader, sink)
                    : Authenticate(user_name, &user, reader, sink);
  if (!auth.ok()) {
    if (auth.code() == Code::kPermissionDenied || user == nullptr) {
      spdlog::info("pgwire: authentication failed for user \"{}\": {}", user_name, auth.message());
      fatal(sqlstate::kInvalidPassword,
            fmt::format("password authentication failed for user \"{}\"", user_name));
    } else if (auth.code() == Code::kUnavailable || auth.code() == Code::kIOError) {
      return;
    } else {
      fatal(auth.code() == Code::kCorruption ? sqlstate::kProtocolViolation
                                             : sqlstate::kInvalidAuthorization,
            auth.message());
    }
    return;
  }

  SessionParameters parameters(user_name, ServerVersion(), options.statement_timeout);
  for (const auto& [name, value] : startup.parameters) {
    Status applied = parameters.ApplyStartup(name, value);
    if (!applied.ok()) {
      fatal(sqlstate::kInvalidParameterValue, applied.message());
      return;
    }
  }
  auto database = OpenSessionDatabase(*catalog, user->grants, user_name,
                                      "PostgreSQL " + ServerVersion(), options.session);
  if (!database.ok()) {
    spdlog::error("pgwire: cannot open a session database: {}", database.status().message());
    fatal(sqlstate::kInternalError, database.status().message());
    return;
  }
  auto interrupter = std::make_shared<QueryInterrupter>(&database->connection);
  {
    std::lock_guard lock(mutex);
    connection.interrupter = interrupter;
  }
  disarm_login();

  WriteAuthenticationOk(sink.out());
  for (const auto& [name, value] : parameters.Reported()) {
    WriteParameterStatus(sink.out(), name, value);
  }
  WriteBackendKeyData(sink.out(), connection.process_id, connection.secret_key);
  WriteReadyForQuery(sink.out(), 'I');
  if (!sink.Flush().ok()) return;
  spdlog::debug("pgwire: session {} for user \"{}\"", connection.process_id, user_name);

  Session session(SessionContext{&database->connection, &parameters, interrupter, &watchdog,
                                 database->tables.get()});
  while (true) {
    auto message = reader.ReadMessage(kMaxMessageBytes);
    if (!message.ok()) {
      if (stopping) {
        fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command");
      } else if (message.status().code() == Code::kCorruption) {
        fatal(sqlstate::kProtocolViolation, message.status().message());
      }
      break;
    }
    auto more = session.Handle(message->first, message->second, sink);
    if (!more.ok()) {
      (void)sink.Flush();
      fatal(sqlstate::kProtocolViolation, more.status().message());
      break;
    }
    if (!*more) break;
    if (stopping) {
      (void)sink.Flush();
      fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command");
      break;
    }
  }
  interrupter->Detach();
  std::lock_guard lock(mutex);
  connection.interrupter.reset();
}

void PgwireServer::State::AcceptLoop() {
  while (!stopping) {
    asio::ip::tcp::socket socket(io);
    asio::error_code error;
    acceptor.accept(socket, error);
    if (stopping) break;
    if (error) {
      spdlog::warn("pgwire: accept failed: {}", error.message());
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), error);
    std::lock_guard lock(mutex);
    // Join the threads of connections that ended.
    for (auto it = connections.begin(); it != connections.end();) {
      if ((*it)->done) {
        (*it)->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
    auto connection = std::make_unique<Connection>(std::move(socket));
    connection->process_id = next_process_id++;
    connection->secret_key = RandomInt32();
    Connection* raw = connection.get();
    connections.push_back(std::move(connection));
    raw->thread = std::thread([this, raw] {
      Serve(*raw);
      asio::error_code ignored;
      raw->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      raw->done = true;
    });
  }
}

PgwireServer::PgwireServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

PgwireServer::~PgwireServer() { Stop(); }

Result<std::unique_ptr<PgwireServer>> PgwireServer::Start(ServerOptions options,
                                                          const TableCatalog& catalog) {
  auto state = std::make_unique<State>();
  state->catalog = &catalog;
  if (options.tls) {
    FRESHET_ASSIGN_OR_RETURN(state->tls, TlsContext::Load(options.tls->cert, options.tls->key));
  }
  state->decoy_secret.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(state->decoy_secret.data()), 32) != 1) {
    return Status::Internal("OpenSSL could not produce random bytes");
  }
  asio::error_code error;
  auto address = asio::ip::make_address(options.host, error);
  if (error)
    return Status::InvalidArgument("listen address \"{}\": {}", options.host, error.message());
  asio::ip::tcp::endpoint endpoint(address, options.port);
  state->acceptor.open(endpoint.protocol(), error);
  if (!error) state->acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), error);
  if (!error) state->acceptor.bind(endpoint, error);
  if (!error) state->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return Status::IOError("cannot listen on {}:{}: {}", options.host, options.port,
                           error.message());
  }
  state->port = state->acceptor.local_endpoint(error).port();
  state->options = std::move(options);
  State* raw = state.get();
  state->accept_thread = std::thread([raw] { raw->AcceptLoop(); });
  spdlog::info("pgwire: listening on {}:{}{}", raw->options.host, raw->port,
               raw->tls != nullptr ? " (TLS available)" : "");
  return std::unique_ptr<PgwireServer>(new PgwireServer(std::move(state)));
}

uint16_t PgwireServer::port() const { return state_->port; }

int PgwireServer::connection_count() const {
  std::lock_guard lock(state_->mutex);
  int count = 0;
  for (const auto& connection : state_->connections) count += connection->done ? 0 : 1;
  return count;
}

void PgwireServer::Stop() {
  if (state_ == nullptr || state_->stopping.exchange(true)) return;
  // shutdown() wakes the accept() blocked in the accept thread; close() alone would not.
  ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR);
  state_->accept_thread.join();
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& connection : state_->connections) {
      if (connection->interrupter) connection->interrupter->Interrupt(InterruptReason::kShutdown);
      // Ends blocking reads; writes still work, so the session can say goodbye.
      ::shutdown(connection->socket.native_handle(), SHUT_RD);
    }
    connections.swap(state_->connections);
  }
  // Keep interrupting until every session has ended: an interrupt that lands just before
  // DuckDB starts a statement can be lost, and a statement must not outlive the server.
  while (true) {
    bool all_done = true;
    {
      std::lock_guard lock(state_->mutex);
      for (auto& connection : connections) {
        if (connection->done) continue;
        all_done = false;
        if (connection->interrupter) {
          connection->interrupter->Interrupt(InterruptReason::kShutdown);
        }
      }
    }
    if (all_done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& connection : connections) connection->thread.join();
  asio::error_code ignored;
  state_->acceptor.close(ignored);
  spdlog::info("pgwire: stopped");
}

}  // namespace freshet::server::pgwire
