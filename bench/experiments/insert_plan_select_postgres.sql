with source_rows as (
  select cast(sync_row."id" as TEXT) as primary_key, cast(row_to_json(sync_row) as TEXT) as row_json
  from (select "id" as "id", "name" as "name", "created_at" as "created_at", "score" as "score", "amount" as "amount", "active" as "active" from "test"."bench_ef07d9ee"."bench_rows") as sync_row
),
keyed as (
  select primary_key, row_json, md5(cast(row_json as TEXT)) as row_hash, count(*) over (partition by primary_key) as key_rows
  from source_rows where primary_key is not null
),
delivered as (select primary_key, row_hash, row_json from "test"."bench_ef07d9ee_lambda_sync"."lambda_sync_snapshots" where sync_name = 'bench_sync'),
changes as (
  select 1 as op_order, 'added' as operation, keyed.primary_key, keyed.row_json, keyed.row_hash, cast(null as TEXT) as previous_json, keyed.key_rows
  from keyed left join delivered on delivered.primary_key = keyed.primary_key
  where keyed.key_rows = 1 and delivered.primary_key is null
  union all
  select 2, 'changed', keyed.primary_key, keyed.row_json, keyed.row_hash, delivered.row_json, keyed.key_rows
  from keyed join delivered on delivered.primary_key = keyed.primary_key
  where keyed.key_rows = 1 and delivered.row_hash <> keyed.row_hash
  union all
  select 3, 'removed', delivered.primary_key, delivered.row_json, delivered.row_hash, cast(null as TEXT), 1
  from delivered where not exists (select 1 from keyed where keyed.primary_key = delivered.primary_key)
  union all
  select 4, 'duplicate', primary_key, min(row_json), cast(null as TEXT), cast(null as TEXT), count(*)
  from keyed where key_rows > 1 group by primary_key
)
select 'bench_sync', row_number() over (order by op_order, primary_key), operation, primary_key, row_json, row_hash, previous_json, key_rows
from changes
