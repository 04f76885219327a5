"""Reads public.stream while lake_gateway_test.cc commits to it (10 rows per commit).

Arguments: port password final_count. Every statement must see whole commits (a multiple of
10 rows), never fewer rows than the statement before, and the reader must reach
final_count. Prints the number of distinct versions seen.
"""

import sys
import time

import psycopg2

port, password, final_count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = psycopg2.connect(host="127.0.0.1", port=port, user="analyst", password=password,
                        dbname="lake", sslmode="disable")
conn.autocommit = True
cur = conn.cursor()
seen = []
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    cur.execute("SELECT count(*), count(DISTINCT id) FROM public.stream")
    count, distinct = cur.fetchone()
    if count % 10 != 0 or count != distinct:
        print(f"partial or duplicated commit visible: {count} rows, {distinct} distinct")
        sys.exit(1)
    if seen and count < seen[-1]:
        print(f"went back in time: {seen[-1]} then {count}")
        sys.exit(1)
    seen.append(count)
    if count == final_count:
        break
if not seen or seen[-1] != final_count:
    print(f"never saw {final_count} rows; last {seen[-1:]}")
    sys.exit(1)
print(f"lake reader: {len(set(seen))} versions seen in {len(seen)} statements")
