#include "server/pgwire/config.h"

#include <gtest/gtest.h>

namespace freshet::server::pgwire {
namespace {

const char kVerifier[] =
    "SCRAM-SHA-256$4096:ip92kjaNbUdsN9VjG0pdtw==$YHFqPh58g/tRbwuH7kc2VbA1oxqaABT21i0j5KI/dgw=:"
    "npX59zv6GFUlUEJjUeQDe4UwMqL/VJX3p76pbGBt/EM=";

Result<PgwireConfig> Load(const std::string& yaml) {
  FRESHET_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Parse(yaml, "freshet.yaml"));
  FRESHET_ASSIGN_OR_RETURN(ConfigNode pgwire, root.Get("pgwire"));
  return LoadPgwireConfig(pgwire, "/etc/freshet");
}

TEST(PgwireConfigTest, LoadsEverySetting) {
  auto config = Load(fmt::format(R"(pgwire:
  listen: 0.0.0.0:6543
  tls: {{cert: server.crt, key: /keys/server.key, cleartext_password: true}}
  users:
    - name: analyst
      password: "{}"
      grants: ["public.*", "sales.orders"]
  statement_timeout: 30s
  session_memory_limit: 256MB
  session_threads: 4
  max_connections: 10
  tables:
    - name: public.orders
      files: [data/orders.parquet]
)",
                                 kVerifier));
  ASSERT_TRUE(config.ok()) << config.status();
  const ServerOptions& options = config->options;
  EXPECT_EQ(options.host, "0.0.0.0");
  EXPECT_EQ(options.port, 6543);
  ASSERT_TRUE(options.tls);
  EXPECT_EQ(options.tls->cert, "/etc/freshet/server.crt");
  EXPECT_EQ(options.tls->key, "/keys/server.key");
  EXPECT_TRUE(options.tls->cleartext_password);
  ASSERT_EQ(options.users.size(), 1u);
  EXPECT_EQ(options.users[0].name, "analyst");
  EXPECT_EQ(options.users[0].verifier.iterations, 4096);
  EXPECT_EQ(options.users[0].grants.size(), 2u);
  EXPECT_EQ(options.statement_timeout, std::chrono::seconds(30));
  EXPECT_EQ(options.session.memory_limit_bytes, 256ULL << 20);
  EXPECT_EQ(options.session.threads, 4);
  EXPECT_EQ(options.max_connections, 10);
  ASSERT_EQ(config->tables.size(), 1u);
  EXPECT_EQ(config->tables[0].schema, "public");
  EXPECT_EQ(config->tables[0].files[0], "/etc/freshet/data/orders.parquet");
}

TEST(PgwireConfigTest, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  std::string user = fmt::format("  users: [{{name: a, password: \"{}\"}}]\n", kVerifier);
  for (const Case& c : std::vector<Case>{
           {"pgwire:\n  listen: 127.0.0.1:5433\n  user: []\n", "freshet.yaml:3"},
           {"pgwire:\n  listen: nowhere\n" + user, "pgwire.listen: expected host:port"},
           {"pgwire:\n  listen: 127.0.0.1:99999\n" + user, "port must be a number"},
           {"pgwire:\n  users: [{name: a, password: secret}]\n", "not a SCRAM-SHA-256 verifier"},
           {"pgwire:\n  users: []\n", "list at least one user"},
           {"pgwire:\n" + user + "  tls: {cert: a.crt}\n", "key"},
           {fmt::format("pgwire:\n  users: [{{name: a, password: \"{}\", grants: [public]}}]\n",
                        kVerifier),
            "not a schema.table pattern"},
           {"pgwire:\n" + user + "  tables: [{name: orders, files: [a.parquet]}]\n",
            "expected schema.table"},
       }) {
    auto config = Load(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_NE(config.status().message().find(c.expected), std::string::npos)
        << c.yaml << "\n"
        << config.status().message();
    EXPECT_NE(config.status().message().find("freshet.yaml:"), std::string::npos)
        << config.status().message();
  }
}

TEST(PgwireConfigTest, LakeRootsAreAbsoluteAndRelativeToTheFile) {
  auto config = Load(fmt::format(R"(pgwire:
  users: [{{name: a, password: "{}"}}]
  lake_roots: [lake, /data/lake/, ../shared/lake]
)",
                                 kVerifier));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->lake_roots,
            (std::vector<std::string>{"/etc/freshet/lake", "/data/lake/", "/etc/shared/lake"}));
  auto empty = Load(fmt::format(R"(pgwire:
  users: [{{name: a, password: "{}"}}]
  lake_roots: [""]
)",
                                kVerifier));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("freshet.yaml:3"), std::string::npos) << empty.status();
}

}  // namespace
}  // namespace freshet::server::pgwire
