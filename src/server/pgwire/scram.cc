#include "server/pgwire/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <vector>

namespace freshet::server::pgwire {
namespace {

constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
constexpr int kMaxIterations = 1'000'000;

std::string Hmac(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string SaltedPassword(std::string_view password, std::string_view salt, int iterations) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), sizeof(out), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof(out));
}

Result<std::string> RandomBytes(size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return Status::Internal("OpenSSL could not produce random bytes");
  }
  return out;
}

// Splits "a=1,b=2" into attributes; values may contain '=' but not ','.
std::vector<std::string_view> SplitComma(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

Result<std::string_view> Attribute(std::string_view part, char name) {
  if (part.size() < 2 || part[0] != name || part[1] != '=') {
    return Status::InvalidArgument("SCRAM message: expected attribute '{}='", name);
  }
  return part.substr(2);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1]) << 8 |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0)
    return Status::InvalidArgument("invalid base64: length not a multiple of 4");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++padding;
      } else {
        if (padding > 0) return Status::InvalidArgument("invalid base64: data after padding");
        v[j] = value(c);
        if (v[j] < 0) return Status::InvalidArgument("invalid base64 character");
      }
    }
    uint32_t n = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out += static_cast<char>(n >> 16);
    if (padding < 2) out += static_cast<char>((n >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

Result<ScramVerifier> ScramVerifier::Parse(std::string_view text) {
  auto bad = [](std::string_view why) {
    return Status::InvalidArgument(
        "not a SCRAM-SHA-256 verifier ({}); expected "
        "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, as `freshet passwd` prints",
        why);
  };
  if (!text.starts_with(kPrefix)) return bad("missing SCRAM-SHA-256$ prefix");
  text.remove_prefix(kPrefix.size());
  size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return bad("missing '$' before the keys");
  std::string_view params = text.substr(0, dollar);
  std::string_view keys = text.substr(dollar + 1);
  size_t colon = params.find(':');
  size_t key_colon = keys.find(':');
  if (colon == std::string_view::npos || key_colon == std::string_view::npos) {
    return bad("missing ':'");
  }
  ScramVerifier verifier;
  std::string_view iterations = params.substr(0, colon);
  if (iterations.empty() || iterations.size() > 7) return bad("bad iteration count");
  for (char c : iterations) {
    if (c < '0' || c > '9') return bad("bad iteration count");
    verifier.iterations = verifier.iterations * 10 + (c - '0');
  }
  if (verifier.iterations < 1 || verifier.iterations > kMaxIterations) {
    return bad("iteration count out of range");
  }
  auto salt = Base64Decode(params.substr(colon + 1));
  auto stored = Base64Decode(keys.substr(0, key_colon));
  auto server = Base64Decode(keys.substr(key_colon + 1));
  if (!salt.ok() || salt->empty()) return bad("bad salt");
  if (!stored.ok() || stored->size() != SHA256_DIGEST_LENGTH) return bad("bad StoredKey");
  if (!server.ok() || server->size() != SHA256_DIGEST_LENGTH) return bad("bad ServerKey");
  verifier.salt = *salt;
  verifier.stored_key = *stored;
  verifier.server_key = *server;
  return verifier;
}

std::string ScramVerifier::ToString() const {
  return fmt::format("{}{}:{}${}:{}", kPrefix, iterations, Base64Encode(salt),
                     Base64Encode(stored_key), Base64Encode(server_key));
}

ScramVerifier MakeScramVerifierWithSalt(std::string_view password, std::string_view salt,
                                        int iterations) {
  std::string salted = SaltedPassword(password, salt, iterations);
  ScramVerifier verifier;
  verifier.iterations = iterations;
  verifier.salt = std::string(salt);
  verifier.stored_key = Sha256(Hmac(salted, "Client Key"));
  verifier.server_key = Hmac(salted, "Server Key");
  return verifier;
}

bool VerifyPassword(const ScramVerifier& verifier, std::string_view password) {
  ScramVerifier computed = MakeScramVerifierWithSalt(password, verifier.salt, verifier.iterations);
  return computed.stored_key.size() == verifier.stored_key.size() &&
         CRYPTO_memcmp(computed.stored_key.data(), verifier.stored_key.data(),
                       computed.stored_key.size()) == 0;
}

Result<ScramVerifier> MakeScramVerifier(std::string_view password, int iterations) {
  FRESHET_ASSIGN_OR_RETURN(std::string salt, RandomBytes(16));
  return MakeScramVerifierWithSalt(password, salt, iterations);
}

Result<std::string> ScramServer::HandleClientFirst(std::string_view client_first) {
  // gs2-header: "n,," or "y,," (client supports channel binding, server does not offer it),
  // optionally with an authzid "n,a=name,"; "p=..." asks for binding we do not offer.
  if (client_first.starts_with("p=")) {
    return Status::InvalidArgument("SCRAM channel binding is not supported; use SCRAM-SHA-256");
  }
  if (!client_first.starts_with("n,") && !client_first.starts_with("y,")) {
    return Status::InvalidArgument("malformed SCRAM client-first-message");
  }
  size_t second_comma = client_first.find(',', 2);
  if (second_comma == std::string_view::npos) {
    return Status::InvalidArgument("malformed SCRAM client-first-message");
  }
  gs2_header_ = std::string(client_first.substr(0, second_comma + 1));
  client_first_bare_ = std::string(client_first.substr(second_comma + 1));
  auto parts = SplitComma(client_first_bare_);
  if (parts.size() < 2) return Status::InvalidArgument("malformed SCRAM client-first-message");
  if (parts[0].starts_with("m=")) {
    return Status::InvalidArgument("SCRAM extensions are not supported");
  }
  FRESHET_RETURN_IF_ERROR(Attribute(parts[0], 'n').status());
  FRESHET_ASSIGN_OR_RETURN(std::string_view client_nonce, Attribute(parts[1], 'r'));
  if (client_nonce.empty()) return Status::InvalidArgument("empty SCRAM client nonce");
  for (char c : client_nonce) {
    if (c < 0x21 || c > 0x7E || c == ',') {
      return Status::InvalidArgument("SCRAM client nonce has invalid characters");
    }
  }
  FRESHET_ASSIGN_OR_RETURN(std::string server_nonce_bytes, RandomBytes(18));
  nonce_ = std::string(client_nonce) + Base64Encode(server_nonce_bytes);
  server_first_ =
      fmt::format("r={},s={},i={}", nonce_, Base64Encode(verifier_.salt), verifier_.iterations);
  return server_first_;
}

Result<std::string> ScramServer::HandleClientFinal(std::string_view client_final) {
  if (server_first_.empty())
    return Status::InvalidArgument("SCRAM client-final before client-first");
  size_t proof_at = client_final.rfind(",p=");
  if (proof_at == std::string_view::npos) {
    return Status::InvalidArgument("malformed SCRAM client-final-message: no proof");
  }
  std::string_view without_proof = client_final.substr(0, proof_at);
  auto parts = SplitComma(without_proof);
  if (parts.size() < 2) return Status::InvalidArgument("malformed SCRAM client-final-message");
  FRESHET_ASSIGN_OR_RETURN(std::string_view binding, Attribute(parts[0], 'c'));
  FRESHET_ASSIGN_OR_RETURN(std::string_view nonce, Attribute(parts[1], 'r'));
  if (binding != Base64Encode(gs2_header_)) {
    return Status::InvalidArgument("SCRAM channel binding data does not match");
  }
  if (nonce != nonce_) return Status::InvalidArgument("SCRAM nonce does not match");
  FRESHET_ASSIGN_OR_RETURN(std::string proof, Base64Decode(client_final.substr(proof_at + 3)));
  if (proof.size() != SHA256_DIGEST_LENGTH) {
    return Status::InvalidArgument("SCRAM proof has the wrong length");
  }
  std::string auth_message =
      fmt::format("{},{},{}", client_first_bare_, server_first_, without_proof);
  std::string client_signature = Hmac(verifier_.stored_key, auth_message);
  std::string client_key(proof.size(), '\0');
  for (size_t i = 0; i < proof.size(); ++i) {
    client_key[i] = static_cast<char>(proof[i] ^ client_signature[i]);
  }
  std::string computed = Sha256(client_key);
  bool match = CRYPTO_memcmp(computed.data(), verifier_.stored_key.data(), computed.size()) == 0;
  if (!match || always_fail_) return Status::PermissionDenied("SCRAM proof does not match");
  return "v=" + Base64Encode(Hmac(verifier_.server_key, auth_message));
}

}  // namespace freshet::server::pgwire
