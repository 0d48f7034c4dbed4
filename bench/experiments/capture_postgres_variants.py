import sys
import time

import psycopg2

sys.path.insert(0, "/work/main")
from bench.capture import model_sql

N = int(sys.argv[1])
con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="test")
con.autocommit = True
cur = con.cursor()
cur.execute("drop schema if exists pgvar cascade; create schema pgvar; set search_path = pgvar")
SEL = lambda rel: (
    f"""select cast(sync_row.id as text) as primary_key, cast(row_to_json(sync_row) as text) as row_json
 from (select id, name, created_at, score, amount, active from {rel}) as sync_row"""
)
cur.execute(f"create table m0 as {model_sql(N, 0)}")
cur.execute(
    f"create table snapshots as select 'bench_sync'::text as sync_name, primary_key, md5(row_json) as row_hash, row_json from ({SEL('m0')}) x"
)
cur.execute("create unique index on snapshots (sync_name, primary_key); analyze snapshots")
t = time.perf_counter()
cur.execute(f"create table m as {model_sql(N, 1)}")
build = time.perf_counter() - t
cur.execute("analyze m")
V0 = (
    open(
        __import__("os").path.join(
            __import__("os").path.dirname(__file__), "insert_plan_select_postgres.sql"
        )
    )
    .read()
    .replace('"test"."bench_ef07d9ee"."bench_rows"', "pgvar.m")
    .replace('"test"."bench_ef07d9ee_lambda_sync"."lambda_sync_snapshots"', "pgvar.snapshots")
)
V1 = f"""with source_rows as materialized ({SEL("m")}),
dup_keys as (select primary_key from source_rows where primary_key is not null group by primary_key having count(*) > 1),
delivered as (select primary_key, row_hash, row_json from snapshots where sync_name = 'bench_sync'),
joined as (
 select coalesce(s.primary_key, d.primary_key) as primary_key, s.row_json as new_json, d.row_json as old_json, d.row_hash as old_hash, s.primary_key is not null as in_model, d.primary_key is not null as in_snapshot
 from (select * from source_rows where primary_key is not null and not exists (select 1 from dup_keys k where k.primary_key = source_rows.primary_key)) s
 full outer join delivered d on d.primary_key = s.primary_key
 where s.primary_key is null or d.primary_key is null or s.row_json <> d.row_json),
changes as (
 select case when not in_snapshot then 1 when in_model then 2 else 3 end as op_order,
        case when not in_snapshot then 'added' when in_model then 'changed' else 'removed' end as operation,
        primary_key, coalesce(new_json, old_json) as row_json,
        case when in_model then md5(new_json) else old_hash end as row_hash,
        case when in_model and in_snapshot then old_json end as previous_json, 1 as key_rows
 from joined
 union all
 select 4, 'duplicate', primary_key, min(row_json), cast(null as text), cast(null as text), count(*) from source_rows where primary_key in (select primary_key from dup_keys) group by primary_key)
select 'bench_sync' as sync_name, row_number() over (order by op_order, primary_key) as seq, operation, primary_key, row_json, row_hash, previous_json, key_rows from changes"""
res = {}
for name, q in (("V0_current", V0), ("V1_outer_join_text_compare", V1)):
    t = time.perf_counter()
    cur.execute(f"create table out_{name} as {q}")
    res[name] = round(time.perf_counter() - t, 2)
    print(name, res[name], flush=True)
cur.execute(
    "select count(*) from (select * from out_V0_current except select * from out_V1_outer_join_text_compare) x"
)
diff = cur.fetchone()
cur.execute("select operation, count(*) from out_V1_outer_join_text_compare group by 1 order by 1")
print(cur.fetchall())
print("postgres", N, "build", round(build, 2), res, "rows differing:", diff)
cur.execute("drop schema pgvar cascade")
