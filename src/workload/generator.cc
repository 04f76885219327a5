#include "workload/generator.h"

#include <algorithm>
#include <array>
#include <random>
#include <thread>
#include <vector>

#include "common/sql_quote.h"
#include "workload/pacer.h"

namespace freshet::workload {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::array<std::string_view, 12> kFirstNames = {"Ada",    "Björn", "Chloé",   "Dmitri",
                                                          "Eun-ji", "Farah", "Gustavo", "Hana",
                                                          "Ifeoma", "João",  "Kiri",    "Łucja"};
constexpr std::array<std::string_view, 10> kLastNames = {"Okafor", "Lindqvist", "Moreau", "Ivanova",
                                                         "Kim",    "Haddad",    "Santos", "Tanaka",
                                                         "Nowak",  "O'Brien"};
constexpr std::array<std::string_view, 8> kCountries = {"NO", "DE", "FR", "JP",
                                                        "BR", "NG", "US", "KR"};
constexpr std::array<std::string_view, 8> kAdjectives = {"Sturdy", "Tiny",   "Golden", "Quiet",
                                                         "Rapid",  "Woolen", "Smart",  "Vintage"};
constexpr std::array<std::string_view, 8> kNouns = {"Kettle",   "Lamp",    "Backpack", "Chair",
                                                    "Notebook", "Bicycle", "Teapot",   "Scarf"};
constexpr std::array<std::string_view, 4> kStatuses = {"pending", "paid", "shipped", "delivered"};

struct LiveOrder {
  int64_t id;
  size_t status;
  int items;
};

class Workload {
 public:
  Workload(pg::Connection& connection, uint64_t seed) : db_(connection), random_(seed) {}

  Status LoadState() {
    FRESHET_ASSIGN_OR_RETURN(auto counts, db_.Query("SELECT (SELECT coalesce(max(id), 0) FROM "
                                                    "customers), (SELECT coalesce(max(id), 0) "
                                                    "FROM products), (SELECT coalesce(max(id), 0) "
                                                    "FROM orders)"));
    FRESHET_ASSIGN_OR_RETURN(max_customer_, counts.GetInt(0, 0));
    FRESHET_ASSIGN_OR_RETURN(max_product_, counts.GetInt(0, 1));
    FRESHET_ASSIGN_OR_RETURN(next_order_, counts.GetInt(0, 2));
    ++next_order_;
    if (max_customer_ == 0 || max_product_ == 0) {
      return Status::InvalidArgument(
          "the shop tables are empty; let the generator create and seed them (omit --no-schema)");
    }
    FRESHET_ASSIGN_OR_RETURN(
        auto orders,
        db_.Query("SELECT o.id, o.status, (SELECT count(*) FROM order_items i WHERE i.order_id = "
                  "o.id) FROM orders o"));
    for (int row = 0; row < orders.size(); ++row) {
      auto status = std::find(kStatuses.begin(), kStatuses.end(), orders.Get(row, 1).value_or(""));
      orders_.push_back(
          {*orders.GetInt(row, 0),
           static_cast<size_t>(status == kStatuses.end() ? 0 : status - kStatuses.begin()),
           static_cast<int>(*orders.GetInt(row, 2))});
    }
    return Status::Ok();
  }

  // Runs one business transaction and adds its row changes to `stats`.
  Status Step(GeneratorStats& stats) {
    int roll = Uniform(0, 99);
    std::string sql = "BEGIN;";
    GeneratorStats delta;
    if (roll < 30 || orders_.empty()) {
      NewOrder(sql, delta);
    } else if (roll < 55) {
      AdvanceOrder(sql, delta);
    } else if (roll < 70) {
      sql += fmt::format(
          "UPDATE products SET stock = greatest(stock + {}, 0), price = price * {}, updated_at = "
          "now() WHERE id = {};",
          Uniform(-5, 20), Pick(std::array<std::string_view, 3>{"1", "1.05", "0.95"}),
          Uniform(1, max_product_));
      delta.updates = 1;
    } else if (roll < 80) {
      sql += fmt::format("UPDATE customers SET loyalty_points = loyalty_points + {} WHERE id = {};",
                         Uniform(1, 50), Uniform(1, max_customer_));
      delta.updates = 1;
    } else if (roll < 90) {
      ++max_customer_;
      sql += "INSERT INTO customers (id, name, email, country, notes) VALUES " +
             CustomerValues(max_customer_) + ";";
      delta.inserts = 1;
    } else {
      DeleteOrder(sql, delta);
    }
    sql += "COMMIT;";
    FRESHET_RETURN_IF_ERROR(db_.Execute(sql));
    stats.inserts += delta.inserts;
    stats.updates += delta.updates;
    stats.deletes += delta.deletes;
    stats.transactions += 1;
    return Status::Ok();
  }

  std::string CustomerValues(int64_t id) {
    std::string first(Pick(kFirstNames));
    std::string last(Pick(kLastNames));
    // One customer in twenty carries long notes: random text too big for the row, so PostgreSQL
    // stores it out of line (TOAST), and later updates leave it unchanged in the WAL.
    std::string notes = Uniform(0, 19) == 0 ? RandomText(Uniform(3000, 9000)) : "";
    return fmt::format("({}, {}, {}, {}, {})", id, QuoteLiteral(first + " " + last),
                       QuoteLiteral(fmt::format("customer{}@example.com", id)),
                       QuoteLiteral(Pick(kCountries)),
                       notes.empty() ? "NULL" : QuoteLiteral(notes));
  }

 private:
  void NewOrder(std::string& sql, GeneratorStats& delta) {
    int64_t id = next_order_++;
    int items = Uniform(1, 5);
    int64_t total_cents = 0;
    std::string values;
    for (int line = 1; line <= items; ++line) {
      int64_t price = Uniform(199, 49999);
      int64_t quantity = Uniform(1, 4);
      total_cents += price * quantity;
      values += fmt::format("{}({}, {}, {}, {}, {}.{:02})", line > 1 ? ", " : "", id, line,
                            Uniform(1, max_product_), quantity, price / 100, price % 100);
    }
    sql += fmt::format(
        "INSERT INTO orders (id, customer_id, status, total) VALUES ({}, {}, 'pending', "
        "{}.{:02});",
        id, Uniform(1, max_customer_), total_cents / 100, total_cents % 100);
    sql += "INSERT INTO order_items (order_id, line, product_id, quantity, unit_price) VALUES " +
           values + ";";
    orders_.push_back({id, 0, items});
    delta.inserts = static_cast<uint64_t>(items) + 1;
  }

  void AdvanceOrder(std::string& sql, GeneratorStats& delta) {
    LiveOrder& order =
        orders_[static_cast<size_t>(Uniform(0, static_cast<int64_t>(orders_.size()) - 1))];
    if (order.status + 1 >= kStatuses.size()) {
      sql += fmt::format("UPDATE orders SET updated_at = now() WHERE id = {};", order.id);
    } else {
      ++order.status;
      sql += fmt::format("UPDATE orders SET status = '{}', updated_at = now() WHERE id = {};",
                         kStatuses[order.status], order.id);
    }
    delta.updates = 1;
  }

  void DeleteOrder(std::string& sql, GeneratorStats& delta) {
    size_t index = static_cast<size_t>(Uniform(0, static_cast<int64_t>(orders_.size()) - 1));
    LiveOrder order = orders_[index];
    orders_[index] = orders_.back();
    orders_.pop_back();
    sql += fmt::format(
        "DELETE FROM order_items WHERE order_id = {0}; DELETE FROM orders WHERE id = {0};",
        order.id);
    delta.deletes = static_cast<uint64_t>(order.items) + 1;
  }

  int64_t Uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(random_);
  }

  template <typename Array>
  std::string_view Pick(const Array& values) {
    return values[static_cast<size_t>(Uniform(0, static_cast<int64_t>(values.size()) - 1))];
  }

  std::string RandomText(int64_t length) {
    static constexpr std::string_view kAlphabet =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-";
    std::string text(static_cast<size_t>(length), ' ');
    for (char& c : text) c = kAlphabet[static_cast<size_t>(Uniform(0, kAlphabet.size() - 1))];
    return text;
  }

  pg::Connection& db_;
  std::mt19937_64 random_;
  int64_t max_customer_ = 0;
  int64_t max_product_ = 0;
  int64_t next_order_ = 1;
  std::vector<LiveOrder> orders_;
};

}  // namespace

Status CreateShopSchema(pg::Connection& connection, int scale) {
  FRESHET_RETURN_IF_ERROR(connection.Execute(
      "CREATE TABLE IF NOT EXISTS customers (id bigint PRIMARY KEY, name text NOT NULL, "
      "  email text NOT NULL, country char(2), loyalty_points integer NOT NULL DEFAULT 0, "
      "  notes text, created_at timestamptz NOT NULL DEFAULT now());"
      "CREATE TABLE IF NOT EXISTS products (id integer PRIMARY KEY, sku text NOT NULL, "
      "  name text NOT NULL, price numeric(10,2) NOT NULL, stock integer NOT NULL, tags text[], "
      "  updated_at timestamptz NOT NULL DEFAULT now());"
      "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, "
      "  status text NOT NULL, total numeric(12,2) NOT NULL, "
      "  created_at timestamptz NOT NULL DEFAULT now(), "
      "  updated_at timestamptz NOT NULL DEFAULT now());"
      "CREATE TABLE IF NOT EXISTS order_items (order_id bigint NOT NULL, line integer NOT NULL, "
      "  product_id integer NOT NULL, quantity integer NOT NULL, "
      "  unit_price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line));"));
  FRESHET_ASSIGN_OR_RETURN(auto empty,
                           connection.Query("SELECT NOT EXISTS (SELECT 1 FROM customers), "
                                            "NOT EXISTS (SELECT 1 FROM products)"));
  if (*empty.GetBool(0, 0)) {
    FRESHET_RETURN_IF_ERROR(connection.Execute(
        fmt::format("INSERT INTO customers (id, name, email, country) "
                    "SELECT g, 'Customer ' || g, 'customer' || g || '@example.com', "
                    "  (ARRAY['NO','DE','FR','JP','BR','NG','US','KR'])[1 + g % 8] "
                    "FROM generate_series(1, {}) g",
                    1000 * scale)));
  }
  if (*empty.GetBool(0, 1)) {
    FRESHET_RETURN_IF_ERROR(connection.Execute(fmt::format(
        "INSERT INTO products (id, sku, name, price, stock, tags) "
        "SELECT g, 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || g, (100 + g * 37 % 9900) / "
        "100.0, g % 500, ARRAY['tag' || g % 7, 'tag' || g % 11] "
        "FROM generate_series(1, {}) g",
        200 * scale)));
  }
  return Status::Ok();
}

Result<GeneratorStats> RunGenerator(const GeneratorOptions& options,
                                    const std::function<bool()>& stop,
                                    const std::function<void(const GeneratorStats&)>& progress) {
  FRESHET_ASSIGN_OR_RETURN(pg::Connection connection, pg::Connection::Open(options.connection));
  if (options.create_schema) FRESHET_RETURN_IF_ERROR(CreateShopSchema(connection, options.scale));
  Workload workload(connection, options.seed);
  FRESHET_RETURN_IF_ERROR(workload.LoadState());

  GeneratorStats stats;
  auto start = SteadyClock::now();
  Pacer pacer(start, options.changes_per_second);
  auto next_progress = start + std::chrono::seconds(1);
  auto finished = [&] {
    bool out_of_time =
        options.duration.count() > 0 && SteadyClock::now() - start >= options.duration;
    bool enough = options.max_changes > 0 && stats.changes() >= options.max_changes;
    return out_of_time || enough || (stop && stop());
  };
  while (!finished()) {
    FRESHET_RETURN_IF_ERROR(workload.Step(stats));
    auto now = SteadyClock::now();
    if (progress && now >= next_progress) {
      stats.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
      progress(stats);
      next_progress += std::chrono::seconds(1);
    }
    // Sleep in short slices so a stop request is noticed quickly even at low rates.
    auto due = pacer.DueTime(stats.changes());
    while (SteadyClock::now() < due && !finished()) {
      std::this_thread::sleep_for(std::min<SteadyClock::duration>(due - SteadyClock::now(),
                                                                  std::chrono::milliseconds(100)));
    }
  }
  stats.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  return stats;
}

}  // namespace freshet::workload
