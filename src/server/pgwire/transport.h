#pragma once

// Byte transport under one client connection: a plain TCP socket, or TLS over it once the
// client's SSLRequest was accepted. Blocking calls on the connection's own thread; asio and
// OpenSSL errors come back as Status values (asio is used with error_code overloads only,
// so no exception leaves this file). One TlsContext (certificate and key) serves every
// connection.

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace freshet::server::pgwire {

class Transport {
 public:
  virtual ~Transport() = default;
  // Reads at least one byte into `buffer`; Unavailable when the peer closed the connection.
  virtual Result<size_t> ReadSome(char* buffer, size_t size) = 0;
  virtual Status WriteAll(std::string_view bytes) = 0;
};

class PlainTransport : public Transport {
 public:
  explicit PlainTransport(asio::ip::tcp::socket& socket) : socket_(socket) {}
  Result<size_t> ReadSome(char* buffer, size_t size) override;
  Status WriteAll(std::string_view bytes) override;

 private:
  asio::ip::tcp::socket& socket_;
};

class TlsContext {
 public:
  // InvalidArgument naming the file when the certificate or key cannot be loaded.
  static Result<std::unique_ptr<TlsContext>> Load(const std::string& cert_file,
                                                  const std::string& key_file);
  asio::ssl::context& context() { return context_; }

 private:
  TlsContext() : context_(asio::ssl::context::tls_server) {}
  asio::ssl::context context_;
};

class TlsTransport : public Transport {
 public:
  TlsTransport(asio::ip::tcp::socket& socket, TlsContext& context)
      : stream_(socket, context.context()) {}
  // The server side of the TLS handshake.
  Status Handshake();
  Result<size_t> ReadSome(char* buffer, size_t size) override;
  Status WriteAll(std::string_view bytes) override;

 private:
  asio::ssl::stream<asio::ip::tcp::socket&> stream_;
};

// Reads whole messages off a Transport, buffering what arrives early.
class MessageReader {
 public:
  explicit MessageReader(Transport* transport) : transport_(transport) {}
  void set_transport(Transport* transport) { transport_ = transport; }
  // Bytes received but not yet consumed (must be none when TLS starts).
  size_t buffered() const { return buffer_.size() - start_; }

  // The next `count` bytes.
  Result<std::string> ReadExactly(size_t count);
  // The next typed message; Corruption when its length is invalid or above `max_body`.
  Result<std::pair<char, std::string>> ReadMessage(size_t max_body);

 private:
  Status Fill();

  Transport* transport_;
  std::string buffer_;
  size_t start_ = 0;
};

}  // namespace freshet::server::pgwire
