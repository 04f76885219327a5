"""Acceptance checks for the gateway with psycopg2 (Debian's python3-psycopg2).

Usage: psycopg2_client.py PORT PASSWORD. Prints one line per failed check and exits 1 on
any failure; prints "psycopg2 client: all checks passed" otherwise.
"""
import datetime
import decimal
import sys
import threading
import time
import uuid

import psycopg2
import psycopg2.errors

port, password = int(sys.argv[1]), sys.argv[2]
failures = []


def check(name, condition, detail=""):
    if not condition:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}")


def connect(user="analyst", pw=password):
    return psycopg2.connect(host="127.0.0.1", port=port, user=user, password=pw,
                            dbname="lake", sslmode="disable", connect_timeout=10)


conn = connect()
conn.autocommit = True
cur = conn.cursor()

# Parameterised queries (psycopg2 interpolates on the client, then sends a simple Query).
cur.execute("SELECT count(*), sum(amount) FROM orders WHERE id < %s AND customer = %s",
            (100, "customer 3"))
count, total = cur.fetchone()
check("count", count == 10, count)
check("sum", total == decimal.Decimal("1200.00"), repr(total))

# Every supported type comes back as the Python value PostgreSQL would give.
cur.execute("SELECT i2, i4, i8, b, f4, f8, num, txt, d, ts, tstz, bytes, id, ints, t, nothing "
            "FROM types")
row = cur.fetchone()
expected = (1, 2, 9007199254740993, True, 1.5, 0.1, decimal.Decimal("12345.67"),
            'héllo, "world"', datetime.date(2026, 3, 4),
            datetime.datetime(2026, 3, 4, 5, 6, 7, 250000),
            datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc),
            b"\x00\xff", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", [1, 2, None],
            datetime.time(13, 14, 15), None)
for index, (got, want) in enumerate(zip(row, expected)):
    if isinstance(got, memoryview):
        got = bytes(got)
    check(f"type column {cur.description[index].name}", got == want, f"{got!r} != {want!r}")

# Transactions as psycopg2 uses them by default (BEGIN before the first statement).
tx = connect()
txcur = tx.cursor()
txcur.execute("SELECT 1")
check("transaction status", tx.get_transaction_status() == 2, tx.get_transaction_status())
tx.rollback()
try:
    txcur.execute("SELECT * FROM no_such_table")
    check("failed transaction", False, "no error")
except psycopg2.errors.UndefinedTable:
    tx.rollback()
txcur.execute("SELECT 2")
check("after rollback", txcur.fetchone()[0] == 2)
tx.close()

# SQLSTATEs map to psycopg2's exception classes.
for sql, error in [("SELEC 1", psycopg2.errors.SyntaxError),
                   ("SELECT * FROM nothing_here", psycopg2.errors.UndefinedTable),
                   ("SELECT * FROM hr.salaries", psycopg2.errors.InsufficientPrivilege),
                   ("DELETE FROM orders", psycopg2.errors.ReadOnlySqlTransaction)]:
    try:
        cur.execute(sql)
        check(f"error for {sql}", False, "no error raised")
    except error:
        pass
    except psycopg2.Error as e:
        check(f"error for {sql}", False, f"{type(e).__name__} {e.pgcode}")

# Cancel a long query from another thread.
def cancel_soon():
    time.sleep(0.5)
    conn.cancel()

canceller = threading.Thread(target=cancel_soon)
canceller.start()
started = time.monotonic()
try:
    cur.execute("SELECT count(*) FROM range(100000000000) r WHERE hash(r.range) % 7 = 1")
    check("cancel", False, "query finished")
except psycopg2.errors.QueryCanceled as e:
    check("cancel message", "user request" in str(e), str(e))
canceller.join()
check("cancel was prompt", time.monotonic() - started < 20, time.monotonic() - started)
cur.execute("SELECT 'still usable'")
check("usable after cancel", cur.fetchone()[0] == "still usable")

# Wrong password and unknown user.
for user, pw in [("analyst", "wrong"), ("nobody", password)]:
    try:
        connect(user, pw)
        check(f"login {user}", False, "accepted")
    except psycopg2.OperationalError as e:
        check(f"login {user}", "password authentication failed" in str(e), str(e))

# Many concurrent sessions, each with its own state.
results = {}

def session(n):
    c = connect()
    c.autocommit = True
    k = c.cursor()
    k.execute(f"SET application_name = 'worker{n}'")
    k.execute("SELECT count(*) FROM orders WHERE id %% %s = 0", (n + 1,))
    count = k.fetchone()[0]
    k.execute("SHOW application_name")
    results[n] = (count, k.fetchone()[0])
    c.close()

workers = [threading.Thread(target=session, args=(n,)) for n in range(8)]
for w in workers:
    w.start()
for w in workers:
    w.join()
for n in range(8):
    want = len([i for i in range(1000) if i % (n + 1) == 0])
    check(f"session {n}", results.get(n) == (want, f"worker{n}"), results.get(n))

conn.close()
if failures:
    sys.exit(1)
print("psycopg2 client: all checks passed")
