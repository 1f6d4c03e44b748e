// PostgreSQL JDBC client of the SabotSQL client matrix.
//
// Runs the shared scenario against the server named by SABOT_HOST/SABOT_PORT
// (and SABOT_SCRAM_PORT/SABOT_PASSWORD for SCRAM), prints "ok <step>" per
// step, and exits non-zero with a message on failure. The type round trip
// runs twice: with text transfer (binaryTransfer=false) and with binary
// transfer (binaryTransfer=true, prepareThreshold=1, so the driver switches
// to named server-side statements and binary results at once), each through
// its own port (SABOT_TEXT_PORT, SABOT_BINARY_PORT: proxies with which the
// Go test checks the formats the driver asked for). For the
// cancel step it starts SABOT_LONG_QUERY and calls Statement.cancel() from
// another thread once a line arrives on stdin (the Go test writes it when
// the query has reached the server).

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

import org.postgresql.util.PGInterval;

public class Client {
    static final String HOST = System.getenv("SABOT_HOST");
    static final String PORT = System.getenv("SABOT_PORT");
    static final String USER = System.getenv("SABOT_USER");
    static final String DB = System.getenv("SABOT_DATABASE");
    static final List<String> failed = new ArrayList<>();

    interface Step {
        void run() throws Exception;
    }

    static void step(String name, Step s) {
        try {
            s.run();
            System.out.println("ok " + name);
        } catch (Throwable e) {
            failed.add(name);
            System.out.println("FAIL " + name + ": " + e);
            e.printStackTrace(System.out);
        }
        System.out.flush();
    }

    // gap runs a step that exercises a known, accepted gap: it prints "ok"
    // when it passes and "gap <name>: <error>" when it fails, without
    // failing the run.
    static void gap(String name, Step s) {
        try {
            s.run();
            System.out.println("ok " + name);
        } catch (Throwable e) {
            System.out.println("gap " + name + ": " + e);
        }
        System.out.flush();
    }

    static void check(boolean cond, String msg) {
        if (!cond) {
            throw new AssertionError(msg);
        }
    }

    static void eq(Object got, Object want, String what) {
        if (!Objects.deepEquals(got, want)) {
            throw new AssertionError(what + ": got " + show(got) + ", want " + show(want));
        }
    }

    static String show(Object o) {
        if (o instanceof Object[]) {
            return Arrays.deepToString((Object[]) o);
        }
        if (o instanceof byte[]) {
            return Arrays.toString((byte[]) o);
        }
        return String.valueOf(o);
    }

    static Connection connect(String port, String params, String password) throws SQLException {
        String url = "jdbc:postgresql://" + HOST + ":" + port + "/" + DB + params;
        Properties p = new Properties();
        p.setProperty("user", USER);
        if (password != null) {
            p.setProperty("password", password);
        }
        return DriverManager.getConnection(url, p);
    }

    static SQLException expectCode(Connection c, String sql, String code) {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            eq(e.getSQLState(), code, "SQLSTATE of " + sql + " (" + e.getMessage() + ")");
            return e;
        }
        throw new AssertionError(sql + " did not fail with " + code);
    }

    public static void main(String[] args) throws Exception {
        AtomicReference<Connection> ref = new AtomicReference<>();
        step("connect", () -> {
            Connection c = connect(PORT, "?ApplicationName=matrix", null);
            ref.set(c);
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                check(rs.next(), "no row");
                eq(rs.getInt(1), 1, "SELECT 1");
            }
            eq(c.getMetaData().getDatabaseProductName(), "PostgreSQL", "product name");
        });
        Connection c = ref.get();
        if (c == null) {
            System.out.println("FAILED steps: connect");
            System.exit(1);
        }

        step("create", () -> {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE jdbc_items (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2))");
            }
        });

        // DatabaseMetaData and connection properties query pg_catalog (and
        // SHOW), as tools built on JDBC do.
        step("metadata", () -> {
            eq(c.getTransactionIsolation(), Connection.TRANSACTION_READ_COMMITTED, "isolation");
            java.sql.DatabaseMetaData md = c.getMetaData();
            try (ResultSet rs = md.getTables(null, "public", "jdbc_items", new String[] {"TABLE"})) {
                check(rs.next(), "getTables found no jdbc_items");
                eq(rs.getString("TABLE_NAME"), "jdbc_items", "TABLE_NAME");
                eq(rs.getString("TABLE_SCHEM"), "public", "TABLE_SCHEM");
                eq(rs.getString("TABLE_TYPE"), "TABLE", "TABLE_TYPE");
                check(!rs.next(), "getTables: extra row");
            }
            List<String> cols = new ArrayList<>();
            try (ResultSet rs = md.getColumns(null, "public", "jdbc_items", null)) {
                while (rs.next()) {
                    cols.add(rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME") + " "
                            + rs.getInt("DATA_TYPE") + " " + rs.getString("IS_NULLABLE"));
                }
            }
            eq(cols, List.of("id int4 4 NO", "name text 12 NO", "price numeric 2 YES"), "getColumns");
            try (ResultSet rs = md.getSchemas()) {
                List<String> schemas = new ArrayList<>();
                while (rs.next()) {
                    schemas.add(rs.getString("TABLE_SCHEM"));
                }
                check(schemas.contains("public") && schemas.contains("pg_catalog"), "getSchemas: " + schemas);
            }
        });

        // A known gap, reported but not failing the run: pgjdbc's
        // getPrimaryKeys calls information_schema._pg_expandarray, a
        // set-returning function of a composite type in the select list.
        gap("metadata primary keys", () -> {
            try (ResultSet rs = c.getMetaData().getPrimaryKeys(null, "public", "jdbc_items")) {
                check(rs.next(), "getPrimaryKeys found nothing");
                eq(rs.getString("COLUMN_NAME"), "id", "primary key column");
            }
        });

        step("insert with parameters", () -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_items VALUES (?, ?, ?)")) {
                ps.setInt(1, 1);
                ps.setString(2, "apple");
                ps.setBigDecimal(3, new BigDecimal("1.25"));
                eq(ps.executeUpdate(), 1, "update count");
                ps.setInt(1, 2);
                ps.setString(2, "pear's");
                ps.setBigDecimal(3, new BigDecimal("0.50"));
                ps.addBatch();
                ps.setInt(1, 3);
                ps.setString(2, "plum");
                ps.setNull(3, Types.NUMERIC);
                ps.addBatch();
                int[] counts = ps.executeBatch();
                eq(counts.length, 2, "batch size");
            }
        });

        step("select with parameters", () -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, name, price FROM jdbc_items WHERE id >= ? AND name <> ? ORDER BY id")) {
                ps.setInt(1, 2);
                ps.setString(2, "plum");
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "no row");
                    eq(rs.getInt("id"), 2, "id");
                    eq(rs.getString("name"), "pear's", "name");
                    eq(rs.getBigDecimal("price"), new BigDecimal("0.50"), "price");
                    check(!rs.next(), "extra row");
                    eq(rs.getMetaData().getColumnTypeName(3), "numeric", "column type");
                }
            }
        });

        step("prepared reuse", () -> {
            // Default prepareThreshold is 5: the statement turns into a named
            // server-side statement after a few executions and is reused.
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO jdbc_items (id, name) VALUES (?, ?)");
                    PreparedStatement sel = c.prepareStatement("SELECT name FROM jdbc_items WHERE id = ?")) {
                for (int i = 10; i < 20; i++) {
                    ins.setInt(1, i);
                    ins.setString(2, "n" + i);
                    eq(ins.executeUpdate(), 1, "insert " + i);
                }
                for (int i = 10; i < 20; i++) {
                    sel.setInt(1, i);
                    try (ResultSet rs = sel.executeQuery()) {
                        check(rs.next(), "no row " + i);
                        eq(rs.getString(1), "n" + i, "name " + i);
                    }
                }
            }
        });

        step("transaction", () -> {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO jdbc_items (id, name) VALUES (100, 'rolled back')");
                c.rollback();
                st.executeUpdate("INSERT INTO jdbc_items (id, name) VALUES (101, 'committed')");
                c.commit();
            } finally {
                c.setAutoCommit(true);
            }
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT id FROM jdbc_items WHERE id >= 100 ORDER BY id")) {
                check(rs.next(), "no row");
                eq(rs.getInt(1), 101, "committed row");
                check(!rs.next(), "rolled back row is visible");
            }
        });

        step("types text", () -> {
            try (Connection tc = connect(System.getenv("SABOT_TEXT_PORT"), "?binaryTransfer=false", null)) {
                types(tc, "jdbc_types_text");
            }
        });
        step("types binary", () -> {
            try (Connection bc = connect(System.getenv("SABOT_BINARY_PORT"), "?binaryTransfer=true&prepareThreshold=1", null)) {
                types(bc, "jdbc_types_bin");
            }
        });

        // setObject(PGobject) and getObject of a type outside the driver's
        // built-in table make pgjdbc query pg_type (TypeInfoCache), with
        // current_schemas(...)[i] and = ANY(current_schemas(true)).
        step("type lookup", () -> {
            PGInterval iv = new PGInterval(1, 2, 3, 4, 5, 6.789);
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::interval")) {
                ps.setObject(1, iv);
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "no row");
                    eq(rs.getObject(1), iv, "interval via getObject");
                }
            }
        });

        step("errors", () -> {
            expectCode(c, "SELECT * FROM jdbc_no_such_table", "42P01");
            expectCode(c, "SELECT 1 / 0", "22012");
            expectCode(c, "SELEC 1", "42601");
            SQLException e = expectCode(c, "INSERT INTO jdbc_items (id, name) VALUES (1, 'dup')", "23505");
            check(e.getMessage().contains("duplicate key"), e.getMessage());
            try (PreparedStatement ps = c.prepareStatement("SELECT 10 / ?")) {
                ps.setInt(1, 0);
                ps.executeQuery();
                throw new AssertionError("10 / 0 did not fail");
            } catch (SQLException e2) {
                eq(e2.getSQLState(), "22012", "prepared 10 / 0");
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 2")) {
                check(rs.next(), "connection unusable after errors");
            }
        });

        step("cancel", () -> {
            try (Statement st = c.createStatement()) {
                AtomicReference<Throwable> bad = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                        String line = in.readLine();
                        if (!"cancel".equals(line)) {
                            throw new IllegalStateException("unexpected stdin: " + line);
                        }
                        st.cancel();
                    } catch (Throwable e) {
                        bad.set(e);
                    }
                });
                t.start();
                try {
                    st.executeQuery(System.getenv("SABOT_LONG_QUERY"));
                    throw new AssertionError("long query was not canceled");
                } catch (SQLException e) {
                    eq(e.getSQLState(), "57014", "cancel SQLSTATE (" + e.getMessage() + ")");
                }
                t.join();
                check(bad.get() == null, "cancel thread: " + bad.get());
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 'alive'")) {
                check(rs.next(), "no row after cancel");
                eq(rs.getString(1), "alive", "after cancel");
            }
            // setQueryTimeout: the driver's timer sends the CancelRequest.
            try (Statement st = c.createStatement()) {
                st.setQueryTimeout(1);
                st.executeQuery(System.getenv("SABOT_LONG_QUERY"));
                throw new AssertionError("query timeout did not cancel the long query");
            } catch (SQLException e) {
                eq(e.getSQLState(), "57014", "query timeout SQLSTATE (" + e.getMessage() + ")");
            }
        });

        step("scram", () -> {
            String port = System.getenv("SABOT_SCRAM_PORT");
            try (Connection sc = connect(port, "", System.getenv("SABOT_PASSWORD"));
                    PreparedStatement ps = sc.prepareStatement("SELECT ?::text")) {
                ps.setString(1, "scram");
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "no row");
                    eq(rs.getString(1), "scram", "SCRAM query");
                }
            }
            try (Connection bad = connect(port, "", "wrong")) {
                throw new AssertionError("wrong password accepted");
            } catch (SQLException e) {
                eq(e.getSQLState(), "28P01", "wrong password (" + e.getMessage() + ")");
            }
        });

        c.close();
        if (!failed.isEmpty()) {
            System.out.println("FAILED steps: " + String.join(", ", failed));
            System.exit(1);
        }
    }

    static void types(Connection c, String table) throws Exception {
        LocalDate day = LocalDate.of(2024, 2, 29);
        LocalTime tod = LocalTime.of(13, 45, 30, 123456000);
        LocalDateTime ts = LocalDateTime.of(day, tod);
        OffsetDateTime tz = OffsetDateTime.of(ts, ZoneOffset.UTC);
        PGInterval iv = new PGInterval(1, 2, 3, 4, 5, 6.789);
        String text = "h\u00e9llo, \"w\u00f6rld\"\n\\ 'q' \u2211";
        byte[] bytes = {0, (byte) 0xff, 0x10, '\\', '\''};
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE " + table + " (id integer, b boolean, i2 smallint, i4 integer, i8 bigint, "
                    + "f4 real, f8 double precision, n numeric(12,4), nbig numeric, t text, vc varchar(10), c char(5), "
                    + "by bytea, d date, tm time, ts timestamp, tz timestamptz, iv interval, "
                    + "ai integer[], at text[], an numeric[], af8 double precision[], ab boolean[], ai8 bigint[])");
        }
        BigDecimal big = new BigDecimal("123456789012345678901234567890.000000000000000000001");
        Integer[] ai = {1, 2, null, 4};
        String[] at = {"a", "b c", "\"q\"", null, "{x,y}"};
        BigDecimal[] an = {new BigDecimal("1.5"), new BigDecimal("-2.25")};
        Double[] af8 = {1.5, Double.POSITIVE_INFINITY};
        Boolean[] ab = {true, false};
        Long[] ai8 = {Long.MIN_VALUE, 7L};
        String ins = "INSERT INTO " + table + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        // Run twice so that with prepareThreshold=1 the second run uses the
        // named statement (and binary parameters where the driver sends them).
        for (int id = 1; id <= 2; id++) {
            try (PreparedStatement ps = c.prepareStatement(ins)) {
                int k = 1;
                ps.setInt(k++, id);
                ps.setBoolean(k++, true);
                ps.setShort(k++, Short.MIN_VALUE);
                ps.setInt(k++, Integer.MIN_VALUE);
                ps.setLong(k++, Long.MAX_VALUE);
                ps.setFloat(k++, 3.25f);
                ps.setDouble(k++, 2.718281828459045);
                ps.setBigDecimal(k++, new BigDecimal("-12345678.9012"));
                ps.setBigDecimal(k++, big);
                ps.setString(k++, text);
                ps.setString(k++, "abc d\u00e9f");
                ps.setString(k++, "ab");
                ps.setBytes(k++, bytes);
                ps.setObject(k++, day);
                ps.setObject(k++, tod);
                ps.setObject(k++, ts);
                ps.setObject(k++, tz);
                // As text of unspecified type: setObject(PGInterval) looks the type up
                // in pg_type first (the "type lookup" step covers that).
                ps.setObject(k++, iv.getValue(), Types.OTHER);
                ps.setArray(k++, c.createArrayOf("int4", ai));
                ps.setArray(k++, c.createArrayOf("text", at));
                ps.setArray(k++, c.createArrayOf("numeric", an));
                ps.setArray(k++, c.createArrayOf("float8", af8));
                ps.setArray(k++, c.createArrayOf("bool", ab));
                ps.setArray(k++, c.createArrayOf("int8", ai8));
                eq(ps.executeUpdate(), 1, "insert " + id);
            }
        }
        try (PreparedStatement ps = c.prepareStatement(ins)) {
            ps.setInt(1, 3);
            for (int k = 2; k <= 24; k++) {
                ps.setNull(k, Types.NULL);
            }
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT * FROM " + table + " WHERE id = ?")) {
            for (int id = 1; id <= 2; id++) {
                // Execute a few times: the later runs use binary results.
                for (int rep = 0; rep < 2; rep++) {
                    ps.setInt(1, id);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next(), "no row " + id);
                        String at_ = "row " + id + " run " + rep + ": ";
                        eq(rs.getBoolean("b"), true, at_ + "boolean");
                        eq(rs.getShort("i2"), Short.MIN_VALUE, at_ + "smallint");
                        eq(rs.getInt("i4"), Integer.MIN_VALUE, at_ + "integer");
                        eq(rs.getLong("i8"), Long.MAX_VALUE, at_ + "bigint");
                        eq(rs.getFloat("f4"), 3.25f, at_ + "real");
                        eq(rs.getDouble("f8"), 2.718281828459045, at_ + "double precision");
                        eq(rs.getBigDecimal("n"), new BigDecimal("-12345678.9012"), at_ + "numeric(12,4)");
                        eq(rs.getBigDecimal("nbig"), big, at_ + "numeric");
                        eq(rs.getString("t"), text, at_ + "text");
                        eq(rs.getString("vc"), "abc d\u00e9f", at_ + "varchar");
                        eq(rs.getString("c"), "ab   ", at_ + "char");
                        eq(rs.getBytes("by"), bytes, at_ + "bytea");
                        eq(rs.getObject("d", LocalDate.class), day, at_ + "date");
                        eq(rs.getObject("tm", LocalTime.class), tod, at_ + "time");
                        eq(rs.getObject("ts", LocalDateTime.class), ts, at_ + "timestamp");
                        eq(rs.getObject("tz", OffsetDateTime.class).toInstant(), tz.toInstant(), at_ + "timestamptz");
                        eq(new PGInterval(rs.getString("iv")), iv, at_ + "interval");
                        eq(rs.getArray("ai").getArray(), ai, at_ + "integer[]");
                        eq(rs.getArray("at").getArray(), at, at_ + "text[]");
                        eq(rs.getArray("an").getArray(), an, at_ + "numeric[]");
                        eq(rs.getArray("af8").getArray(), af8, at_ + "double precision[]");
                        eq(rs.getArray("ab").getArray(), ab, at_ + "boolean[]");
                        eq(rs.getArray("ai8").getArray(), ai8, at_ + "bigint[]");
                    }
                }
            }
            ps.setInt(1, 3);
            try (ResultSet rs = ps.executeQuery()) {
                check(rs.next(), "no NULL row");
                for (int k = 2; k <= 24; k++) {
                    check(rs.getObject(k) == null, "NULL column " + rs.getMetaData().getColumnName(k));
                }
            }
        }
    }
}
