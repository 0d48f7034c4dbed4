import sys
import time

import duckdb
import psycopg2

sys.path.insert(0, "/work/main")
from bench.capture import model_sql

N = int(sys.argv[2])
which = sys.argv[1]


def run(cur, sql, label, res):
    t = time.perf_counter()
    cur.execute(sql)
    if cur.description:
        cur.fetchall()
    res[label] = round(time.perf_counter() - t, 2)
    print(which, label, res[label], flush=True)


res = {}
if which == "pg":
    con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="test")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("drop schema if exists capexp cascade; create schema capexp")
    run(cur, f"create table capexp.m as {model_sql(N, 1)}", "build", res)
    run(cur, "select count(*) from capexp.m", "scan", res)
    run(
        cur,
        "select sum(length(cast(row_to_json(r) as text))) from (select id,name,created_at,score,amount,active from capexp.m) r",
        "json_render",
        res,
    )
    run(
        cur,
        "select sum(length(md5(cast(row_to_json(r) as text)))) from (select id,name,created_at,score,amount,active from capexp.m) r",
        "json_md5",
        res,
    )
    run(cur, "select sum(length(md5(cast(r as text)))) from capexp.m r", "rowtext_md5", res)
    run(
        cur,
        "select max(c) from (select count(*) over (partition by cast(id as text)) c from capexp.m) x",
        "window_count_keyonly",
        res,
    )
    run(
        cur,
        "select max(length(j)), max(c) from (select cast(row_to_json(r) as text) j, count(*) over (partition by cast(r.id as text)) c from (select id,name,created_at,score,amount,active from capexp.m) r) x",
        "window_count_with_json",
        res,
    )
    run(
        cur,
        "select count(*) from (select cast(id as text) from capexp.m group by 1 having count(*) > 1) x",
        "dup_groupby",
        res,
    )
    cur.execute("drop schema capexp cascade")
else:
    con = duckdb.connect()
    cur = con.cursor()
    run(cur, f"create table m as {model_sql(N, 1)}", "build", res)
    sel = "select id, replace(cast(created_at as varchar),' ','T') created_at, name, score, amount, active from m"
    run(cur, f"select sum(length(cast(to_json(r) as varchar))) from ({sel}) r", "json_render", res)
    run(
        cur, f"select sum(length(md5(cast(to_json(r) as varchar)))) from ({sel}) r", "json_md5", res
    )
    run(cur, "select sum(length(md5(cast(r as varchar)))) from m r", "rowtext_md5", res)
    run(
        cur,
        "select count(*) from (select cast(id as varchar) from m group by 1 having count(*) > 1)",
        "dup_groupby",
        res,
    )
    run(
        cur,
        "select sum(hash(id,name,created_at,score,amount,active) % 7) from m",
        "native_hash",
        res,
    )
    run(
        cur,
        "select max(c) from (select count(*) over (partition by cast(id as varchar)) c from m)",
        "window_count_keyonly",
        res,
    )
print(which, res)
