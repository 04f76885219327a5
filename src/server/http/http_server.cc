#include "server/http/http_server.h"

#include <sys/socket.h>

#include <chrono>

#include <httplib.h>

#include "common/config.h"

namespace freshet::server {

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                      MetricsRegistry& metrics,
                                                      ReadinessCheck readiness) {
  FRESHET_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(listen));
  std::unique_ptr<HttpServer> http(new HttpServer());
  http->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *http->server_;
  server.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics.RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [check = std::move(readiness)](const httplib::Request&,
                                                       httplib::Response& response) {
    std::string reason = check ? check() : "";
    response.status = reason.empty() ? 200 : 503;
    response.set_content(reason.empty() ? "ready\n" : "not ready: " + reason + "\n", "text/plain");
  });
  // A handler that throws must not take the process down; httplib turns it into a 500.
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        response.status = 500;
        response.set_content("internal error\n", "text/plain");
      });
  // httplib's default also sets SO_REUSEPORT, which would let a second freshet bind the same
  // port and silently share its traffic; a busy port must be an error instead.
  server.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (address.port == 0) {
    http->port_ = server.bind_to_any_port(address.host);
  } else {
    http->port_ = server.bind_to_port(address.host, address.port) ? address.port : -1;
  }
  if (http->port_ <= 0) {
    return Status::Unavailable(
        "cannot listen for HTTP on {}: the address is in use or not on this machine; change "
        "server.http",
        listen);
  }
  http->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() is a no-op until the loop runs, so a Stop() right after Start() would otherwise
  // leave the thread listening forever.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) {
    http->Stop();
    return Status::Internal("the HTTP server on {} did not start", listen);
  }
  return http;
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace freshet::server
