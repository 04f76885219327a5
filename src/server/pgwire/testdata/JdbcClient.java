// Acceptance checks for the gateway with pgjdbc (Debian's libpostgresql-jdbc-java).
// Usage: java -cp postgresql.jar:. JdbcClient PORT PASSWORD. Exits 1 on any failed check.

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public class JdbcClient {
  static final List<String> failures = new ArrayList<>();

  static void check(String name, boolean ok, Object detail) {
    if (!ok) {
      failures.add(name);
      System.out.println("FAIL " + name + ": " + detail);
    }
  }

  static Connection connect(int port, String user, String password) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password);
    props.setProperty("sslmode", "disable");
    props.setProperty("connectTimeout", "10");
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/lake", props);
  }

  static String sqlState(String sql, Connection c) {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
      return "none";
    } catch (SQLException e) {
      return e.getSQLState();
    }
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String password = args[1];
    try (Connection c = connect(port, "analyst", password)) {
      // Server-side prepared statements with parameters (extended protocol), reused so the
      // driver switches to named statements and binary transfer after prepareThreshold.
      try (PreparedStatement ps =
          c.prepareStatement("SELECT count(*), sum(amount) FROM orders WHERE id < ? AND customer = ?")) {
        for (int i = 0; i < 7; i++) {
          ps.setInt(1, 100);
          ps.setString(2, "customer 3");
          try (ResultSet rs = ps.executeQuery()) {
            check("row", rs.next(), "no row");
            check("count " + i, rs.getLong(1) == 10, rs.getLong(1));
            check("sum " + i, rs.getBigDecimal(2).compareTo(new BigDecimal("1200.00")) == 0,
                rs.getBigDecimal(2));
          }
        }
      }
      // Types.
      try (PreparedStatement ps = c.prepareStatement(
               "SELECT i2, i4, i8, b, f4, f8, num, txt, d, ts, tstz, bytes, id, t, nothing FROM types");
           ResultSet rs = ps.executeQuery()) {
        check("types row", rs.next(), "none");
        check("i2", rs.getShort("i2") == 1, rs.getShort("i2"));
        check("i4", rs.getInt("i4") == 2, rs.getInt("i4"));
        check("i8", rs.getLong("i8") == 9007199254740993L, rs.getLong("i8"));
        check("b", rs.getBoolean("b"), rs.getBoolean("b"));
        check("f4", rs.getFloat("f4") == 1.5f, rs.getFloat("f4"));
        check("f8", rs.getDouble("f8") == 0.1, rs.getDouble("f8"));
        check("num", rs.getBigDecimal("num").equals(new BigDecimal("12345.67")), rs.getBigDecimal("num"));
        check("txt", rs.getString("txt").equals("héllo, \"world\""), rs.getString("txt"));
        check("d", rs.getDate("d").toString().equals("2026-03-04"), rs.getDate("d"));
        check("ts", rs.getTimestamp("ts").toString().equals("2026-03-04 05:06:07.25"), rs.getTimestamp("ts"));
        check("tstz", rs.getObject("tstz", java.time.OffsetDateTime.class).toInstant().toString()
            .equals("2026-03-04T05:06:07Z"), rs.getString("tstz"));
        byte[] bytes = rs.getBytes("bytes");
        check("bytes", bytes.length == 2 && bytes[0] == 0 && bytes[1] == (byte) 0xff, bytes.length);
        check("uuid", rs.getObject("id").toString().equals("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
            rs.getObject("id"));
        check("time", rs.getTime("t").toString().equals("13:14:15"), rs.getTime("t"));
        rs.getInt("nothing");
        check("null", rs.wasNull(), "not null");
      }
      // Row limits: the driver fetches in batches with PortalSuspended inside a transaction.
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM orders ORDER BY id")) {
        ps.setFetchSize(100);
        long n = 0, sum = 0;
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            n++;
            sum += rs.getLong(1);
          }
        }
        check("fetch size rows", n == 1000 && sum == 499500, n + " rows, sum " + sum);
      }
      c.commit();
      c.setAutoCommit(true);
      // Metadata.
      DatabaseMetaData meta = c.getMetaData();
      List<String> tables = new ArrayList<>();
      try (ResultSet rs = meta.getTables(null, "public", "%", new String[] {"TABLE"})) {
        while (rs.next()) tables.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
      }
      check("getTables", tables.contains("public.orders") && tables.contains("public.types"), tables);
      List<String> columns = new ArrayList<>();
      try (ResultSet rs = meta.getColumns(null, "public", "orders", "%")) {
        while (rs.next()) columns.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
      }
      check("getColumns", columns.size() == 4 && columns.get(0).startsWith("id:"), columns);
      check("product", meta.getDatabaseProductName().equals("PostgreSQL"), meta.getDatabaseProductName());
      // SQLSTATEs.
      check("42601", sqlState("SELEC 1", c).equals("42601"), sqlState("SELEC 1", c));
      check("42P01", sqlState("SELECT * FROM no_such", c).equals("42P01"), sqlState("SELECT * FROM no_such", c));
      check("42501", sqlState("SELECT * FROM hr.salaries", c).equals("42501"), sqlState("SELECT * FROM hr.salaries", c));
      check("25006", sqlState("DROP TABLE orders", c).equals("25006"), sqlState("DROP TABLE orders", c));
      // Cancel.
      try (Statement s = c.createStatement()) {
        Thread canceller = new Thread(() -> {
          try {
            Thread.sleep(500);
            s.cancel();
          } catch (Exception e) {
            failures.add("cancel thread: " + e);
          }
        });
        canceller.start();
        long started = System.nanoTime();
        String state = "none";
        try {
          s.executeQuery("SELECT count(*) FROM range(100000000000) r WHERE hash(r.range) % 7 = 1");
        } catch (SQLException e) {
          state = e.getSQLState();
        }
        canceller.join();
        check("cancel", state.equals("57014"), state);
        check("cancel prompt", (System.nanoTime() - started) / 1e9 < 20, (System.nanoTime() - started) / 1e9);
      }
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 5")) {
        check("usable after cancel", rs.next() && rs.getInt(1) == 5, "no");
      }
    }
    try {
      connect(port, "analyst", "wrong").close();
      check("wrong password", false, "accepted");
    } catch (SQLException e) {
      check("wrong password state", "28P01".equals(e.getSQLState()), e.getSQLState());
    }
    if (!failures.isEmpty()) System.exit(1);
    System.out.println("jdbc client: all checks passed");
  }
}
