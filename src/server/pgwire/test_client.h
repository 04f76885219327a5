#pragma once

// Test-only: a minimal PostgreSQL frontend over a blocking socket, for sending exactly the
// bytes a test wants (malformed, truncated, oversized) and reading the server's replies, and
// the client side of SCRAM-SHA-256 written independently of the server's.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/wire.h"
#include "server/pgwire/scram.h"

namespace freshet::server::pgwire::testing {

inline std::string TestHmac(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// The client-final-message for `password`, given the client-first-message-bare and the
// server-first-message (RFC 5802 section 3).
inline std::string ScramClientFinal(std::string_view password, std::string_view client_first_bare,
                                    std::string_view server_first) {
  std::string nonce;
  std::string salt;
  int iterations = 0;
  for (std::string_view rest = server_first; !rest.empty();) {
    size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    if (part.starts_with("r=")) nonce = part.substr(2);
    if (part.starts_with("s=")) salt = Base64Decode(part.substr(2)).value_or("");
    if (part.starts_with("i=")) iterations = std::stoi(std::string(part.substr(2)));
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
  }
  unsigned char salted[32];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), 32, salted);
  std::string salted_password(reinterpret_cast<char*>(salted), 32);
  std::string client_key = TestHmac(salted_password, "Client Key");
  unsigned char stored[32];
  SHA256(reinterpret_cast<const unsigned char*>(client_key.data()), client_key.size(), stored);
  std::string without_proof = "c=biws,r=" + nonce;
  std::string auth =
      std::string(client_first_bare) + "," + std::string(server_first) + "," + without_proof;
  std::string signature = TestHmac(std::string(reinterpret_cast<char*>(stored), 32), auth);
  std::string proof(32, '\0');
  for (int i = 0; i < 32; ++i) proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
  return without_proof + ",p=" + Base64Encode(proof);
}

class RawClient {
 public:
  RawClient() = default;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }

  bool Connect(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{10, 0};  // every read has a deadline
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void SendStartup(std::string_view user) {
    WireWriter body;
    body.PutI32(196608);
    body.PutCString("user");
    body.PutCString(user);
    body.PutU8(0);
    WireWriter packet;
    packet.PutI32(static_cast<int32_t>(body.size() + 4));
    packet.PutBytes(body.data());
    Send(packet.data());
  }

  // The next message, or nullopt when the connection closed or the read timed out.
  std::optional<std::pair<char, std::string>> Read() {
    std::string header;
    if (!ReadExactly(5, &header)) return std::nullopt;
    WireReader reader(std::string_view(header).substr(1), "header");
    int32_t length = reader.ReadI32().value_or(0);
    std::string body;
    if (length < 4 || !ReadExactly(static_cast<size_t>(length) - 4, &body)) return std::nullopt;
    return std::make_pair(header[0], body);
  }

  // Reads until an ErrorResponse ('E') and returns its body, skipping other messages.
  std::optional<std::string> ReadError() {
    while (auto message = Read()) {
      if (message->first == 'E') return message->second;
    }
    return std::nullopt;
  }

  // True when the server closed the connection (EOF) before the read deadline.
  bool ClosedByServer() {
    char byte;
    while (true) {
      ssize_t n = recv(fd_, &byte, 1, 0);
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }

  // Startup and SCRAM; true once ReadyForQuery arrives.
  bool Login(std::string_view user, std::string_view password) {
    SendStartup(user);
    auto sasl = Read();
    if (!sasl || sasl->first != 'R') return false;
    std::string bare = "n=,r=rawclientnonce";
    WireWriter initial;
    initial.BeginMessage('p');
    initial.PutCString("SCRAM-SHA-256");
    initial.PutCountedBytes("n,," + bare);
    initial.EndMessage();
    Send(initial.data());
    auto server_first = Read();
    if (!server_first || server_first->first != 'R') return false;
    WireWriter final_message;
    final_message.BeginMessage('p');
    final_message.PutBytes(ScramClientFinal(password, bare, server_first->second.substr(4)));
    final_message.EndMessage();
    Send(final_message.data());
    while (auto message = Read()) {
      if (message->first == 'Z') return true;
      if (message->first == 'E') return false;
    }
    return false;
  }

 private:
  bool ReadExactly(size_t count, std::string* out) {
    out->resize(count);
    size_t done = 0;
    while (done < count) {
      ssize_t n = recv(fd_, out->data() + done, count - done, 0);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  int fd_ = -1;
};

}  // namespace freshet::server::pgwire::testing
