#include "server/pgwire/transport.h"

#include "server/pgwire/protocol.h"

namespace freshet::server::pgwire {
namespace {

Status FromAsio(const asio::error_code& error, std::string_view what) {
  if (error == asio::error::eof || error == asio::error::connection_reset ||
      error == asio::ssl::error::stream_truncated) {
    return Status::Unavailable("{}: the client closed the connection", what);
  }
  if (error == asio::error::would_block || error == asio::error::try_again ||
      error == asio::error::timed_out) {
    return Status::Timeout("{}: timed out", what);
  }
  return Status::IOError("{}: {}", what, error.message());
}

}  // namespace

Result<size_t> PlainTransport::ReadSome(char* buffer, size_t size) {
  asio::error_code error;
  size_t n = socket_.read_some(asio::buffer(buffer, size), error);
  if (error) return FromAsio(error, "reading from the client");
  return n;
}

Status PlainTransport::WriteAll(std::string_view bytes) {
  asio::error_code error;
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), error);
  if (error) return FromAsio(error, "writing to the client");
  return Status::Ok();
}

Result<std::unique_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  std::unique_ptr<TlsContext> tls;
  try {  // asio::ssl::context's constructor throws when OpenSSL cannot make a context
    tls.reset(new TlsContext());
  } catch (const std::exception& e) {
    return Status::Internal("cannot create a TLS context: {}", e.what());
  }
  asio::error_code error;
  tls->context_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                                asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                                asio::ssl::context::no_tlsv1_1,
                            error);
  if (error) return Status::Internal("TLS options: {}", error.message());
  tls->context_.use_certificate_chain_file(cert_file, error);
  if (error) {
    return Status::InvalidArgument("TLS certificate {}: {}", cert_file, error.message());
  }
  tls->context_.use_private_key_file(key_file, asio::ssl::context::pem, error);
  if (error) return Status::InvalidArgument("TLS key {}: {}", key_file, error.message());
  return tls;
}

Status TlsTransport::Handshake() {
  asio::error_code error;
  stream_.handshake(asio::ssl::stream_base::server, error);
  if (error) return FromAsio(error, "TLS handshake");
  return Status::Ok();
}

Result<size_t> TlsTransport::ReadSome(char* buffer, size_t size) {
  asio::error_code error;
  size_t n = stream_.read_some(asio::buffer(buffer, size), error);
  if (error) return FromAsio(error, "reading from the client (TLS)");
  return n;
}

Status TlsTransport::WriteAll(std::string_view bytes) {
  asio::error_code error;
  asio::write(stream_, asio::buffer(bytes.data(), bytes.size()), error);
  if (error) return FromAsio(error, "writing to the client (TLS)");
  return Status::Ok();
}

Status MessageReader::Fill() {
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > 64 * 1024) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  char chunk[16 * 1024];
  FRESHET_ASSIGN_OR_RETURN(size_t n, transport_->ReadSome(chunk, sizeof(chunk)));
  buffer_.append(chunk, n);
  return Status::Ok();
}

Result<std::string> MessageReader::ReadExactly(size_t count) {
  while (buffered() < count) FRESHET_RETURN_IF_ERROR(Fill());
  std::string out = buffer_.substr(start_, count);
  start_ += count;
  return out;
}

Result<std::pair<char, std::string>> MessageReader::ReadMessage(size_t max_body) {
  while (true) {
    size_t consumed = 0;
    std::string_view pending(buffer_.data() + start_, buffered());
    FRESHET_ASSIGN_OR_RETURN(std::optional<Frame> frame, NextFrame(pending, max_body, &consumed));
    if (frame) {
      std::pair<char, std::string> out(frame->type, std::string(frame->body));
      start_ += consumed;
      return out;
    }
    FRESHET_RETURN_IF_ERROR(Fill());
  }
}

}  // namespace freshet::server::pgwire
