// pgjdbc against the gateway's lake tables (run by lake_gateway_test.cc): metadata lists them,
// prepared statements and table_at (with parameters) read them. Usage: java -cp postgresql.jar:. LakeJdbc PORT
// PASSWORD. Exits 1 on any failed check.

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

public class LakeJdbc {
  static final List<String> failures = new ArrayList<>();

  static void check(String name, boolean ok, Object detail) {
    if (!ok) {
      failures.add(name);
      System.out.println("FAIL " + name + ": " + detail);
    }
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "analyst");
    props.setProperty("password", args[1]);
    props.setProperty("sslmode", "disable");
    props.setProperty("connectTimeout", "10");
    // Named server-side statements from the first execution on.
    props.setProperty("prepareThreshold", "1");
    try (Connection c =
        DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + args[0] + "/lake", props)) {
      DatabaseMetaData meta = c.getMetaData();
      List<String> tables = new ArrayList<>();
      try (ResultSet rs = meta.getTables(null, null, "%", new String[] {"TABLE"})) {
        while (rs.next()) tables.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
      }
      check("getTables", tables.contains("public.orders") && !tables.contains("hr.salaries"),
          tables);
      List<String> columns = new ArrayList<>();
      try (ResultSet rs = meta.getColumns(null, "public", "orders", "%")) {
        while (rs.next()) columns.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
      }
      check("getColumns", columns.toString().equals("[id:int8, customer:varchar, amount:numeric]"),
          columns);
      try (PreparedStatement p = c.prepareStatement("SELECT count(*) FROM public.orders WHERE id > ?")) {
        for (int i = 0; i < 3; i++) {
          p.setInt(1, 3);
          try (ResultSet rs = p.executeQuery()) {
            rs.next();
            check("prepared count", rs.getLong(1) == 2, rs.getLong(1));
          }
        }
      }
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(
              "SELECT count(*) FROM table_at('public.orders', version => 1)")) {
        rs.next();
        check("table_at", rs.getLong(1) == 3, rs.getLong(1));
      }
      // Parameters elsewhere in a statement with table_at() keep working.
      try (PreparedStatement p = c.prepareStatement(
               "SELECT count(*) FROM table_at('public.orders', version => 2) WHERE id > ?")) {
        for (int i = 0; i < 2; i++) {
          p.setInt(1, 3);
          try (ResultSet rs = p.executeQuery()) {
            rs.next();
            check("table_at with a parameter", rs.getLong(1) == 2, rs.getLong(1));
          }
        }
      }
      // A version as a parameter: the statement reads the version bound at each execution.
      try (PreparedStatement p = c.prepareStatement(
               "SELECT count(*) FROM table_at('public.orders', version => ?) WHERE id > ?")) {
        long[][] cases = {{1, 0, 3}, {2, 0, 5}, {2, 4, 1}, {1, 1, 2}};
        for (long[] t : cases) {
          p.setLong(1, t[0]);
          p.setInt(2, (int) t[1]);
          try (ResultSet rs = p.executeQuery()) {
            rs.next();
            check("table_at version parameter " + t[0] + "/" + t[1], rs.getLong(1) == t[2],
                rs.getLong(1));
          }
        }
        p.setLong(1, 99);
        p.setInt(2, 0);
        p.executeQuery();
        check("missing version as a parameter", false, "accepted");
      } catch (SQLException e) {
        check("missing version as a parameter", "22023".equals(e.getSQLState()), e.getSQLState());
      }
      try (PreparedStatement p = c.prepareStatement(
               "SELECT count(*) FROM table_changes('public.orders', ?, ?)")) {
        p.setLong(1, 1);
        p.setLong(2, 2);
        try (ResultSet rs = p.executeQuery()) {
          rs.next();
          check("table_changes parameters", rs.getLong(1) == 5, rs.getLong(1));
        }
      }
    }
    if (!failures.isEmpty()) System.exit(1);
    System.out.println("lake jdbc: all checks passed");
  }
}
