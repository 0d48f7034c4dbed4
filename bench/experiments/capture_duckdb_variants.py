import sys
import time

import duckdb

sys.path.insert(0, "/work/main")
from bench.capture import model_sql

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
con = duckdb.connect()
SEL = lambda rel: (
    f"""select cast(sync_row.id as varchar) as primary_key, cast(to_json(sync_row) as varchar) as row_json
 from (select id, name, replace(cast(created_at as varchar), ' ', 'T') as created_at, case when isfinite(score) or score is null then to_json(score) when isnan(score) then to_json('NaN') when score > 0 then to_json('Infinity') else to_json('-Infinity') end as score, amount, active from {rel}) as sync_row"""
)
con.execute(f"create table m0 as {model_sql(N, 0)}")
con.execute(
    f"create table snapshots as select 'bench_sync' as sync_name, primary_key, md5(row_json) as row_hash, row_json from ({SEL('m0')})"
)
t = time.perf_counter()
con.execute(f"create table m as {model_sql(N, 1)}")
build = time.perf_counter() - t
V0 = f"""with source_rows as ({SEL("m")}),
keyed as (select primary_key, row_json, md5(row_json) as row_hash, count(*) over (partition by primary_key) as key_rows from source_rows where primary_key is not null),
delivered as (select primary_key, row_hash, row_json from snapshots where sync_name = 'bench_sync'),
changes as (
 select 1 as op_order, 'added' as operation, keyed.primary_key, keyed.row_json, keyed.row_hash, cast(null as varchar) as previous_json, keyed.key_rows
 from keyed left join delivered on delivered.primary_key = keyed.primary_key where keyed.key_rows = 1 and delivered.primary_key is null
 union all
 select 2, 'changed', keyed.primary_key, keyed.row_json, keyed.row_hash, delivered.row_json, keyed.key_rows
 from keyed join delivered on delivered.primary_key = keyed.primary_key where keyed.key_rows = 1 and delivered.row_hash <> keyed.row_hash
 union all
 select 3, 'removed', delivered.primary_key, delivered.row_json, delivered.row_hash, cast(null as varchar), 1
 from delivered where not exists (select 1 from keyed where keyed.primary_key = delivered.primary_key)
 union all
 select 4, 'duplicate', primary_key, min(row_json), cast(null as varchar), cast(null as varchar), count(*) from keyed where key_rows > 1 group by primary_key)
select 'bench_sync' as sync_name, row_number() over (order by op_order, primary_key) as seq, operation, primary_key, row_json, row_hash, previous_json, key_rows from changes"""
# V1: one full outer join of model and snapshot on the key; duplicates found on keys only;
# rows compared as text (the snapshot holds the JSON that was sent); md5 only for plan rows.
V1 = f"""with source_rows as materialized ({SEL("m")}),
dup_keys as (select primary_key from source_rows where primary_key is not null group by primary_key having count(*) > 1),
delivered as (select primary_key, row_hash, row_json from snapshots where sync_name = 'bench_sync'),
joined as (
 select coalesce(s.primary_key, d.primary_key) as primary_key, s.row_json as new_json, d.row_json as old_json, d.row_hash as old_hash, s.primary_key is not null as in_model, d.primary_key is not null as in_snapshot
 from (select * from source_rows where primary_key is not null and primary_key not in (select primary_key from dup_keys)) s
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
 select 4, 'duplicate', primary_key, min(row_json), cast(null as varchar), cast(null as varchar), count(*) from source_rows where primary_key in (select primary_key from dup_keys) group by primary_key)
select 'bench_sync' as sync_name, row_number() over (order by op_order, primary_key) as seq, operation, primary_key, row_json, row_hash, previous_json, key_rows from changes"""
res = {}
for rep in range(3):
    for name, q in (("V0_current", V0), ("V1_outer_join_text_compare", V1)):
        con.execute(f"drop table if exists out_{name}")
        t = time.perf_counter()
        con.execute(f"create table out_{name} as {q}")
        res.setdefault(name, []).append(time.perf_counter() - t)
a = con.execute(
    "select operation, count(*), count(distinct row_hash) from out_V0_current group by 1 order by 1"
).fetchall()
b = con.execute(
    "select operation, count(*), count(distinct row_hash) from out_V1_outer_join_text_compare group by 1 order by 1"
).fetchall()
same = con.execute(
    "select count(*) from (select * from out_V0_current except select * from out_V1_outer_join_text_compare)"
).fetchone()
print(
    "duckdb",
    N,
    "build",
    round(build, 2),
    {k: round(sorted(v)[1], 2) for k, v in res.items()},
    a == b,
    a,
    "rows differing:",
    same,
)
# V2: a typed snapshot (the model's columns as last delivered) compared column-wise; JSON only
# for the plan rows.
con.execute("create table snap_typed as select * from m0")
V2 = """with j as (
 select coalesce(cast(s.id as varchar), cast(d.id as varchar)) as primary_key, s.id is not null as in_model, d.id is not null as in_snapshot, s.id as sid, d.id as did
 from m s full outer join snap_typed d on d.id = s.id
 where s.id is null or d.id is null or (s.name, s.created_at, s.score, s.amount, s.active) is distinct from (d.name, d.created_at, d.score, d.amount, d.active))
select j.*, cast(to_json(s) as varchar) as row_json from j left join m s on s.id = j.sid"""
ts = []
for rep in range(3):
    t = time.perf_counter()
    n = con.execute(f"select count(*) from ({V2})").fetchone()
    ts.append(time.perf_counter() - t)
print("V2_typed_snapshot", round(sorted(ts)[1], 2), n)
