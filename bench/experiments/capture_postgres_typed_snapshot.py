import sys
import time

import psycopg2

sys.path.insert(0, "/work/main")
from bench.capture import model_sql

N = int(sys.argv[1])
con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="test")
con.autocommit = True
cur = con.cursor()
cur.execute("drop schema if exists pgv2 cascade; create schema pgv2; set search_path = pgv2")
cur.execute(f"create table snap_typed as {model_sql(N, 0)}")
cur.execute("analyze snap_typed")
t = time.perf_counter()
cur.execute(f"create table m as {model_sql(N, 1)}")
build = time.perf_counter() - t
cur.execute("analyze m")
V2 = """create table out as with j as (
 select coalesce(s.id, d.id) as id, s.id is not null as in_model, d.id is not null as in_snapshot
 from m s full outer join snap_typed d on d.id = s.id
 where s.id is null or d.id is null or (s.name, s.created_at, s.score, s.amount, s.active) is distinct from (d.name, d.created_at, d.score, d.amount, d.active))
select j.*, cast(row_to_json(s) as text) as row_json from j left join m s on s.id = j.id"""
t = time.perf_counter()
cur.execute(V2)
v2 = time.perf_counter() - t
cur.execute("select count(*) from out")
n = cur.fetchone()
print("postgres V2_typed_snapshot", N, "build", round(build, 2), "V2", round(v2, 2), n)
cur.execute("drop schema pgv2 cascade")
