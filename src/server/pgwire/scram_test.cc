#include "server/pgwire/scram.h"

#include <gtest/gtest.h>

#include "server/pgwire/test_client.h"

namespace freshet::server::pgwire {
namespace {

using testing::ScramClientFinal;

std::string ClientFinal(std::string_view password, std::string_view bare,
                        std::string_view server_first) {
  return ScramClientFinal(password, bare, server_first);
}

TEST(ScramTest, Base64RoundTrips) {
  for (const std::string& text :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto decoded = Base64Decode(Base64Encode(text));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(Base64Encode("abc"), "YWJj");
  EXPECT_FALSE(Base64Decode("YWJ").ok());
  EXPECT_FALSE(Base64Decode("Y!Jj").ok());
}

TEST(ScramTest, VerifierRoundTripsThroughText) {
  auto verifier = MakeScramVerifier("s3cret");
  ASSERT_TRUE(verifier.ok());
  std::string text = verifier->ToString();
  EXPECT_TRUE(text.starts_with("SCRAM-SHA-256$4096:"));
  auto parsed = ScramVerifier::Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->stored_key, verifier->stored_key);
  EXPECT_EQ(parsed->server_key, verifier->server_key);
}

TEST(ScramTest, TestClientMatchesRfc7677Example) {
  // RFC 7677 section 3: user "user", password "pencil". Checks the client the other tests use.
  std::string server_first =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  EXPECT_EQ(ClientFinal("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", server_first),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
}

TEST(ScramTest, RejectsMalformedVerifiers) {
  for (const char* bad :
       {"", "md5abc", "SCRAM-SHA-256$x:abc$a:b", "SCRAM-SHA-256$4096:YWJj$YWJj:YWJj",
        "SCRAM-SHA-256$4096:YWJj", "SCRAM-SHA-256$0:YWJj$a:b"}) {
    EXPECT_FALSE(ScramVerifier::Parse(bad).ok()) << bad;
  }
}

TEST(ScramTest, AcceptsTheRightPasswordAndRefusesAWrongOne) {
  ScramVerifier verifier = MakeScramVerifierWithSalt("right", "0123456789abcdef", 4096);
  for (const auto& [password, ok] :
       std::vector<std::pair<std::string, bool>>{{"right", true}, {"wrong", false}}) {
    ScramServer server(verifier, false);
    std::string bare = "n=,r=clientnonce123";
    auto server_first = server.HandleClientFirst("n,," + bare);
    ASSERT_TRUE(server_first.ok()) << server_first.status();
    auto server_final = server.HandleClientFinal(ClientFinal(password, bare, *server_first));
    EXPECT_EQ(server_final.ok(), ok) << password;
    if (!ok) {
      EXPECT_EQ(server_final.status().code(), Code::kPermissionDenied);
    } else {
      EXPECT_TRUE(server_final->starts_with("v="));
    }
  }
}

TEST(ScramTest, VerifiesCleartextPasswords) {
  ScramVerifier verifier = MakeScramVerifierWithSalt("right", "0123456789abcdef", 4096);
  EXPECT_TRUE(VerifyPassword(verifier, "right"));
  EXPECT_FALSE(VerifyPassword(verifier, "wrong"));
  EXPECT_FALSE(VerifyPassword(verifier, ""));
}

TEST(ScramTest, DecoyExchangeAlwaysFails) {
  ScramVerifier verifier = MakeScramVerifierWithSalt("pw", "0123456789abcdef", 4096);
  ScramServer server(verifier, true);
  std::string bare = "n=,r=abc";
  auto server_first = server.HandleClientFirst("n,," + bare);
  ASSERT_TRUE(server_first.ok());
  EXPECT_FALSE(server.HandleClientFinal(ClientFinal("pw", bare, *server_first)).ok());
}

TEST(ScramTest, RejectsMalformedClientMessages) {
  ScramVerifier verifier = MakeScramVerifierWithSalt("pw", "0123456789abcdef", 4096);
  ScramServer server(verifier, false);
  EXPECT_FALSE(server.HandleClientFirst("").ok());
  EXPECT_FALSE(server.HandleClientFirst("p=tls-server-end-point,,n=,r=x").ok());
  EXPECT_FALSE(server.HandleClientFirst("n,,n=").ok());
  EXPECT_FALSE(server.HandleClientFinal("c=biws,r=x,p=AAAA").ok());
  ASSERT_TRUE(server.HandleClientFirst("n,,n=,r=abc").ok());
  EXPECT_FALSE(server.HandleClientFinal("c=biws,r=wrongnonce,p=AAAA").ok());
  EXPECT_FALSE(server.HandleClientFinal("garbage").ok());
}

}  // namespace
}  // namespace freshet::server::pgwire
