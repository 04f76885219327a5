#pragma once

// HttpServer: freshet's HTTP endpoint for operators and monitoring.
//
//   GET /metrics  Prometheus text format from a MetricsRegistry
//   GET /healthz  200 "ok" while the process serves requests (liveness)
//   GET /readyz   200 "ready" when the readiness check passes, else 503 and the reason
//
// Start() binds and serves on a background thread; Stop() (or the destructor) ends it.
// The registry and readiness check must outlive the server. Thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/result.h"

namespace httplib {
class Server;
}

namespace freshet::server {

class HttpServer {
 public:
  // Returns "" when ready, else why not ("snapshot of public.orders at 40%").
  using ReadinessCheck = std::function<std::string()>;

  // `listen` is host:port; port 0 picks a free one (see port()). Unavailable when the
  // address cannot be bound, naming it.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                   MetricsRegistry& metrics,
                                                   ReadinessCheck readiness);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  int port() const { return port_; }
  void Stop();

 private:
  HttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace freshet::server
