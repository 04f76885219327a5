#include "server/http/http_server.h"

#include <atomic>

#include <httplib.h>

#include <gtest/gtest.h>

namespace freshet::server {
namespace {

TEST(HttpServer, ServesMetricsHealthAndReadiness) {
  MetricsRegistry metrics;
  metrics.Counter("freshet_commits_total", "Lake commits", {{"table", "public.orders"}})
      .Increment(7);
  std::atomic<bool> ready{false};
  auto http = HttpServer::Start("127.0.0.1:0", metrics,
                                [&] { return ready ? std::string() : std::string("snapshot"); });
  ASSERT_TRUE(http.ok()) << http.status();
  ASSERT_GT((*http)->port(), 0);

  httplib::Client client("127.0.0.1", (*http)->port());
  auto scraped = client.Get("/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_EQ(scraped->status, 200);
  EXPECT_NE(scraped->body.find("freshet_commits_total{table=\"public.orders\"} 7"),
            std::string::npos)
      << scraped->body;
  EXPECT_EQ(scraped->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "not ready: snapshot\n");
  ready = true;
  auto now_ready = client.Get("/readyz");
  ASSERT_TRUE(now_ready);
  EXPECT_EQ(now_ready->status, 200);

  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  (*http)->Stop();
  EXPECT_FALSE(client.Get("/healthz")) << "stopped servers refuse connections";
}

TEST(HttpServer, BusyPortIsAClearError) {
  MetricsRegistry metrics;
  auto first = HttpServer::Start("127.0.0.1:0", metrics, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = HttpServer::Start(taken, metrics, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().Is(Code::kUnavailable));
  EXPECT_NE(second.status().message().find(taken), std::string::npos);
  EXPECT_FALSE(HttpServer::Start("nonsense", metrics, nullptr).ok());
}

}  // namespace
}  // namespace freshet::server
