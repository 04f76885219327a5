"""psycopg2 against the gateway's lake tables (run by lake_gateway_test.cc).

Arguments: port password stashed_v2 commit_v2 stashed_v3 commit_v3. public.clicks has
versions 0 and 1 visible (2 rows); renaming a stashed commit file into place makes the next
version visible.
"""

import os
import sys

import psycopg2

port, password, stashed2, commit2, stashed3, commit3 = sys.argv[1:7]
failures = []


def check(name, actual, expected):
    if actual != expected:
        failures.append(f"{name}: expected {expected!r}, got {actual!r}")


conn = psycopg2.connect(host="127.0.0.1", port=int(port), user="analyst", password=password,
                        dbname="lake", sslmode="disable")
conn.autocommit = True
cur = conn.cursor()


def one(sql, args=None):
    cur.execute(sql, args)
    return cur.fetchone()[0]


# A new commit is visible to the next statement of the same session.
check("clicks before", one("SELECT count(*) FROM public.clicks"), 2)
os.rename(stashed2, commit2)
check("clicks after commit", one("SELECT count(*) FROM public.clicks"), 5)

# Time travel, with psycopg2's client-side parameters.
check("orders v1", one("SELECT count(*) FROM table_at('public.orders', version => 1)"), 3)
check("orders v2", one("SELECT count(*) FROM table_at(%s, version => %s)", ("public.orders", 2)), 5)
check("clicks v1", one("SELECT max(id) FROM table_at('public.clicks', version => 1)"), 2)

# The change feed: versions 1 and 2 of orders appended 3 and 2 rows.
cur.execute("SELECT _commit_version, count(*), min(_change_type) FROM "
            "table_changes('public.orders', 1, 2) GROUP BY 1 ORDER BY 1")
check("table_changes", cur.fetchall(), [(1, 3, "insert"), (2, 2, "insert")])
check("table_changes to latest", one("SELECT count(*) FROM table_changes('public.orders', 2)"), 2)

# Inside a transaction every statement reads the versions of its first statement.
conn.autocommit = False
check("in transaction", one("SELECT count(*) FROM public.clicks"), 5)
os.rename(stashed3, commit3)
check("still pinned", one("SELECT count(*) FROM public.clicks"), 5)
conn.commit()
check("after commit", one("SELECT count(*) FROM public.clicks"), 9)
conn.commit()
conn.autocommit = True

# Consistent snapshots.
cur.execute("SET freshet.snapshot = '0/1FFF'")
check("show snapshot", one("SHOW freshet.snapshot"), "0/1FFF")
check("orders at 0/1FFF", one("SELECT count(*) FROM public.orders"), 3)
try:
    one("SELECT count(*) FROM public.clicks")
    failures.append("clicks is not in the watermark, yet it was readable")
except psycopg2.Error as error:
    check("clicks not in the watermark", error.pgcode, "42P01")
try:
    cur.execute("SET freshet.snapshot = '0/1'")
    failures.append("an LSN older than every watermark was accepted")
except psycopg2.Error as error:
    check("expired LSN", error.pgcode, "22023")
check("snapshot unchanged after a failed SET", one("SHOW freshet.snapshot"), "0/1FFF")
cur.execute("SET freshet.snapshot = 'latest'")
check("orders latest", one("SELECT count(*) FROM public.orders"), 5)
check("clicks latest", one("SELECT count(*) FROM public.clicks"), 9)

# Unknown tables and versions.
try:
    one("SELECT * FROM table_at('public.orders', version => 42)")
    failures.append("version 42 was accepted")
except psycopg2.Error as error:
    check("missing version", error.pgcode, "22023")

conn.close()
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("lake client: all checks passed")
