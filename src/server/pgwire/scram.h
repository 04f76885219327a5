#pragma once

// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: the stored verifier format
// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 parts), making a
// verifier from a password, and the server side of one authentication exchange.
//
// Channel binding (SCRAM-SHA-256-PLUS) is not offered; clients that ask for it with 'p=' are
// refused. Passwords are used as UTF-8 bytes without SASLprep normalisation, which matches
// PostgreSQL for ASCII passwords. Thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace freshet::server::pgwire {

inline constexpr std::string_view kScramMechanism = "SCRAM-SHA-256";

struct ScramVerifier {
  int iterations = 0;
  std::string salt;        // raw bytes
  std::string stored_key;  // raw SHA-256 digest
  std::string server_key;  // raw HMAC-SHA-256

  // InvalidArgument naming what is wrong with `text`.
  static Result<ScramVerifier> Parse(std::string_view text);
  std::string ToString() const;
};

// A verifier for `password` with a fresh random 16-byte salt.
Result<ScramVerifier> MakeScramVerifier(std::string_view password, int iterations = 4096);
// Same, with a given salt (for tests and for the decoy verifier of unknown users).
ScramVerifier MakeScramVerifierWithSalt(std::string_view password, std::string_view salt,
                                        int iterations);

// Whether `password` is the one `verifier` was made from (constant-time comparison).
bool VerifyPassword(const ScramVerifier& verifier, std::string_view password);

std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

// One server-side exchange: client-first → server-first, client-final → server-final.
class ScramServer {
 public:
  // `verifier` is the user's; for unknown users pass a decoy and `always_fail` so the
  // exchange looks the same and fails at the end (no user enumeration).
  ScramServer(ScramVerifier verifier, bool always_fail)
      : verifier_(std::move(verifier)), always_fail_(always_fail) {}

  // The server-first-message. InvalidArgument for a malformed client-first-message.
  Result<std::string> HandleClientFirst(std::string_view client_first);
  // The server-final-message ("v=..."), or PermissionDenied when the proof is wrong.
  Result<std::string> HandleClientFinal(std::string_view client_final);

 private:
  ScramVerifier verifier_;
  bool always_fail_ = false;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
  std::string gs2_header_;
};

}  // namespace freshet::server::pgwire
