import time

import duckdb

con = duckdb.connect()
con.execute(
    "create table c (sync_name varchar, run_id varchar, primary_key varchar, operation varchar, row_hash varchar)"
)
rows = [
    ("bench_sync", "20260101T000000Z-abcdef", str(i), "added", "0123456789abcdef0123456789abcdef")
    for i in range(6000)
]


def multi():
    group = "(?, ?, ?, ?, ?)"
    con.execute(
        "insert into c values " + ", ".join(group for _ in rows), [v for r in rows for v in r]
    )


def many():
    con.executemany("insert into c values (?, ?, ?, ?, ?)", rows)


def arrow():
    cols = list(zip(*rows))
    t = pa.table(
        {
            n: list(c)
            for n, c in zip(["sync_name", "run_id", "primary_key", "operation", "row_hash"], cols)
        }
    )
    con.register("batch_tmp", t)
    con.execute("insert into c select * from batch_tmp")
    con.unregister("batch_tmp")


def unnest():
    cols = [list(c) for c in zip(*rows)]
    con.execute("insert into c select unnest(?), unnest(?), unnest(?), unnest(?), unnest(?)", cols)


for f in (multi, unnest):
    ts = []
    for _ in range(3):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    print(f.__name__, "ms per 6000 rows:", round(min(ts) * 1000, 1))


def multi_chunk(k):
    def f():
        group = "(?, ?, ?, ?, ?)"
        for s in range(0, len(rows), k):
            ch = rows[s : s + k]
            con.execute(
                "insert into c values " + ", ".join(group for _ in ch), [v for r in ch for v in r]
            )

    f.__name__ = f"multi_chunk_{k}"
    return f


def many_small():
    con.executemany("insert into c values (?, ?, ?, ?, ?)", rows[:600])


for f in (multi_chunk(100), multi_chunk(500), many_small):
    t = time.perf_counter()
    f()
    print(f.__name__, round((time.perf_counter() - t) * 1000, 1), "ms (many_small: 600 rows)")
