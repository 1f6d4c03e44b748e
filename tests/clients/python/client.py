#!/usr/bin/python3
"""psycopg2 client of the SabotSQL client matrix.

Runs the shared scenario against the server named by SABOT_HOST/SABOT_PORT
(and SABOT_SCRAM_PORT/SABOT_PASSWORD for SCRAM), prints "ok <step>" per
step or "FAIL <step>: <why>" (the next steps still run), and exits non-zero
if any step failed. For the
cancel step it starts SABOT_LONG_QUERY and calls conn.cancel() from a
thread once a line arrives on stdin (the Go test writes it when the query
has reached the server).
"""

import datetime
import decimal
import os
import sys
import threading

import psycopg2
import psycopg2.errorcodes
import psycopg2.extensions

HOST = os.environ["SABOT_HOST"]
PORT = int(os.environ["SABOT_PORT"])
USER = os.environ["SABOT_USER"]
DB = os.environ["SABOT_DATABASE"]


class StepFailed(Exception):
    pass


def fail(msg):
    raise StepFailed(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def ok(step):
    print("ok " + step, flush=True)


def expect_error(conn, sql, args, code):
    cur = conn.cursor()
    try:
        cur.execute(sql, args)
    except psycopg2.Error as e:
        eq(e.pgcode, code, "SQLSTATE of %r (%s)" % (sql, e.pgerror))
        conn.rollback()
        return e
    fail("%r did not fail with %s" % (sql, code))


def step(conn, name, fn):
    """Runs one step; a failure is reported and the next steps still run."""
    try:
        fn()
        ok(name)
    except (StepFailed, psycopg2.Error) as e:
        FAILED.append(name)
        print("FAIL %s: %s" % (name, e), flush=True)
        if conn is not None and not conn.closed:
            conn.rollback()


def main():
    try:
        conn = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=DB)
    except psycopg2.Error as e:
        fail("connect: %s" % e)

    def connect_step():
        cur = conn.cursor()
        cur.execute("SELECT 1")
        eq(cur.fetchone(), (1,), "SELECT 1")
        conn.commit()

    # psycopg2 opens a transaction implicitly (BEGIN before the first
    # statement); the steps commit or roll back explicitly.
    def create():
        conn.cursor().execute("CREATE TABLE py_items (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2))")
        conn.commit()

    def insert():
        cur = conn.cursor()
        cur.execute("INSERT INTO py_items (id, name, price) VALUES (%s, %s, %s)", (1, "apple", decimal.Decimal("1.25")))
        eq(cur.rowcount, 1, "rowcount")
        cur.executemany("INSERT INTO py_items VALUES (%(id)s, %(name)s, %(price)s)",
                        [{"id": 2, "name": "pear's", "price": decimal.Decimal("0.50")},
                         {"id": 3, "name": "plum", "price": None}])
        conn.commit()

    def select():
        cur = conn.cursor()
        cur.execute("SELECT id, name, price FROM py_items WHERE id >= %s AND name <> %s ORDER BY id", (2, "plum"))
        eq(cur.fetchall(), [(2, "pear's", decimal.Decimal("0.50"))], "select with parameters")
        eq([d.name for d in cur.description], ["id", "name", "price"], "column names")
        cur.execute("SELECT count(*) FROM py_items WHERE price IS NULL")
        eq(cur.fetchone()[0], 1, "NULL parameter")
        conn.commit()

    def prepared():
        # psycopg2 has no client-side prepared statements: reuse a
        # server-side PREPARE through EXECUTE with parameters.
        cur = conn.cursor()
        cur.execute("PREPARE py_ins(integer, text) AS INSERT INTO py_items (id, name) VALUES ($1, $2)")
        for i in range(10, 15):
            cur.execute("EXECUTE py_ins(%s, %s)", (i, "n%d" % i))
        cur.execute("PREPARE py_sel(integer) AS SELECT name FROM py_items WHERE id = $1")
        for i in range(10, 15):
            cur.execute("EXECUTE py_sel(%s)", (i,))
            eq(cur.fetchone(), ("n%d" % i,), "EXECUTE py_sel(%d)" % i)
        cur.execute("DEALLOCATE py_ins")
        conn.commit()

    def transaction():
        cur = conn.cursor()
        cur.execute("INSERT INTO py_items (id, name) VALUES (%s, %s)", (100, "rolled back"))
        conn.rollback()
        cur.execute("INSERT INTO py_items (id, name) VALUES (%s, %s)", (101, "committed"))
        conn.commit()
        eq(conn.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_IDLE, "status after commit")
        with conn:  # commits on success
            with conn.cursor() as c2:
                c2.execute("INSERT INTO py_items (id, name) VALUES (%s, %s)", (102, "with block"))
        cur.execute("SELECT id FROM py_items WHERE id >= 100 ORDER BY id")
        eq(cur.fetchall(), [(101,), (102,)], "transactions")
        conn.rollback()
        conn.autocommit = True
        try:
            cur.execute("BEGIN")
            cur.execute("INSERT INTO py_items (id, name) VALUES (%s, %s)", (103, "explicit"))
            cur.execute("COMMIT")
            cur.execute("SELECT count(*) FROM py_items WHERE id = 103")
            eq(cur.fetchone()[0], 1, "explicit BEGIN/COMMIT in autocommit mode")
        finally:
            conn.autocommit = False

    def errors():
        expect_error(conn, "SELECT * FROM py_no_such_table", None, "42P01")
        expect_error(conn, "SELECT 1 / %s", (0,), "22012")
        e = expect_error(conn, "INSERT INTO py_items (id, name) VALUES (%s, %s)", (1, "dup"), "23505")
        check(isinstance(e, psycopg2.errors.UniqueViolation), "23505 maps to UniqueViolation: %r" % type(e))
        # An error inside a transaction aborts it until ROLLBACK.
        cur = conn.cursor()
        cur.execute("SELECT 1")
        try:
            cur.execute("SELECT 1 / 0")
            fail("1/0 did not fail")
        except psycopg2.errors.DivisionByZero:
            pass
        try:
            cur.execute("SELECT 1")
            fail("statement after error in a transaction did not fail")
        except psycopg2.Error as e2:
            eq(e2.pgcode, "25P02", "in failed transaction")
        conn.rollback()
        cur.execute("SELECT 2")
        eq(cur.fetchone(), (2,), "after rollback")
        conn.commit()

    step(conn, "connect", connect_step)
    step(conn, "create", create)
    step(conn, "insert with parameters", insert)
    step(conn, "select with parameters", select)
    step(conn, "prepared reuse", prepared)
    step(conn, "transaction", transaction)
    step(conn, "types text", lambda: types(conn))
    step(conn, "types arrays", lambda: types_arrays(conn))
    step(conn, "errors", errors)
    step(conn, "cancel", lambda: cancel(conn))
    step(None, "scram", scram)
    conn.close()


def types(conn):
    round_trip(conn, "py_types", SCALARS)
    cur = conn.cursor()
    cols = SCALARS
    # Typed comparisons on the server with parameters.
    cur.execute("SELECT count(*) FROM py_types WHERE tz = %s AND iv = %s AND n = %s AND by = %s",
                (cols[15][2], cols[16][2], cols[6][2], cols[11][2]))
    eq(cur.fetchone()[0], 1, "server-side comparison with parameters")
    conn.commit()


def types_arrays(conn):
    # psycopg2 sends a Python list as ARRAY[...].
    round_trip(conn, "py_arrays", ARRAYS)


SCALARS = [
    ("b", "boolean", True),
    ("i2", "smallint", -32768),
    ("i4", "integer", -2147483648),
    ("i8", "bigint", 9223372036854775807),
    ("f4", "real", 3.25),
    ("f8", "double precision", 2.718281828459045),
    ("n", "numeric(12,4)", decimal.Decimal("-12345678.9012")),
    ("nbig", "numeric", decimal.Decimal("123456789012345678901234567890.000000000000000000001")),
    ("t", "text", "h\u00e9llo, \"w\u00f6rld\"\n\\ 'q' \u2211"),
    ("vc", "varchar(10)", "abc d\u00e9f"),
    ("c", "char(5)", "ab   "),
    ("by", "bytea", b"\x00\xff\x10\\'"),
    ("d", "date", datetime.date(2024, 2, 29)),
    ("tm", "time", datetime.time(13, 45, 30, 123456)),
    ("ts", "timestamp", datetime.datetime(2024, 2, 29, 13, 45, 30, 123456)),
    ("tz", "timestamptz", datetime.datetime(2024, 2, 29, 13, 45, 30, 123456, tzinfo=datetime.timezone.utc)),
    ("iv", "interval", datetime.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=789000)),
]
ARRAYS = [
    ("ai", "integer[]", [1, 2, None, 4]),
    ("at", "text[]", ["a", "b c", "\"q\"", None, "{x,y}"]),
    ("an", "numeric[]", [decimal.Decimal("1.5"), decimal.Decimal("-2.25")]),
    ("ab", "boolean[]", [True, False]),
    ("af8", "double precision[]", [1.5, float("inf")]),
    ("ad", "date[]", [datetime.date(2024, 1, 1)]),
    ("ats", "timestamptz[]", [datetime.datetime(2024, 2, 29, 13, 45, 30, tzinfo=datetime.timezone.utc)]),
]


def round_trip(conn, table, cols):
    cur = conn.cursor()
    cur.execute("CREATE TABLE " + table + " (id integer, %s)" % ", ".join("%s %s" % (c, t) for c, t, _ in cols))
    ph = ", ".join(["%s"] * (len(cols) + 1))
    cur.execute("INSERT INTO " + table + " VALUES (%s)" % ph, [1] + [v for _, _, v in cols])
    cur.execute("INSERT INTO " + table + " VALUES (%s)" % ph, [2] + [None] * len(cols))
    conn.commit()
    cur.execute("SELECT * FROM " + table + " WHERE id = %s", (1,))
    row = cur.fetchone()
    for (c, t, v), got in zip(cols, row[1:]):
        if isinstance(got, memoryview):  # psycopg2 returns bytea as memoryview
            got = bytes(got)
        if t == "timestamptz":
            check(got == v, "%s: got %r, want %r" % (t, got, v))  # aware datetimes compare by instant
        else:
            eq(got, v, t)
    cur.execute("SELECT * FROM " + table + " WHERE id = %s", (2,))
    eq(list(cur.fetchone()[1:]), [None] * len(cols), "NULLs")
    conn.commit()


def cancel(conn):
    cur = conn.cursor()
    errs = []

    def canceller():
        line = sys.stdin.readline()
        if line.strip() != "cancel":
            errs.append("unexpected stdin %r" % line)
            return
        try:
            conn.cancel()
        except Exception as e:  # reported by the main thread
            errs.append(repr(e))

    th = threading.Thread(target=canceller)
    th.start()
    try:
        cur.execute(os.environ["SABOT_LONG_QUERY"])
        fail("long query was not canceled")
    except psycopg2.errors.QueryCanceled as e:
        eq(e.pgcode, "57014", "cancel SQLSTATE")
    th.join()
    check(not errs, "cancel thread: %s" % errs)
    conn.rollback()
    cur.execute("SELECT 'alive'")
    eq(cur.fetchone(), ("alive",), "after cancel")
    conn.commit()


def scram():
    port = int(os.environ["SABOT_SCRAM_PORT"])
    pw = os.environ["SABOT_PASSWORD"]
    c = psycopg2.connect(host=HOST, port=port, user=USER, dbname=DB, password=pw)
    cur = c.cursor()
    cur.execute("SELECT %s::text", ("scram",))
    eq(cur.fetchone(), ("scram",), "query over SCRAM connection")
    c.close()
    try:
        psycopg2.connect(host=HOST, port=port, user=USER, dbname=DB, password="wrong")
        fail("wrong password accepted")
    except psycopg2.OperationalError as e:
        check("password authentication failed" in str(e), "wrong password error: %s" % e)


FAILED = []

if __name__ == "__main__":
    try:
        main()
    except StepFailed as e:
        print("FAIL: %s" % e, flush=True)
        sys.exit(1)
    if FAILED:
        print("FAILED steps: %s" % ", ".join(FAILED), flush=True)
        sys.exit(1)
