{#-
  The post-hook: after a model builds, computes the change set of each of its syncs.
  Wire it once in dbt_project.yml:   models: {+post-hook: "{{ dbt_lambda_sync.capture_changes() }}"}
  A no-op on models without `lambda_sync` in config.meta. Definitions are validated in full by the
  runner (`dbt-lambda-sync validate`); here a sync whose basic fields or columns are unusable is
  skipped with a log line instead of failing the model's build (definition_problem, checked
  before any SQL is built from the definition).
-#}
{% macro capture_changes() -%}
  {{ return(adapter.dispatch('capture_changes', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__capture_changes() -%}
  {%- do dbt_lambda_sync.check_adapter_supported() -%}
  {%- if not execute or model is not mapping or model.resource_type != 'model' -%}{{ return('') }}{%- endif -%}
  {%- set syncs = (model.config.meta or {}).get('lambda_sync') -%}
  {%- if not syncs -%}{{ return('') }}{%- endif -%}
  {%- if syncs is mapping -%}{%- set syncs = [syncs] -%}{%- endif -%}
  {%- if model.config.materialized == 'ephemeral' -%}{{ return('') }}{%- endif -%}
  {#- the package's on-run-start created them; DDL here, inside the model's transaction, would
      lock the tables against models building in parallel (prepare_sync_tables) -#}
  {%- if adapter.get_columns_in_relation(dbt_lambda_sync.lambda_sync_relation('lambda_sync_state'))
        | length == 0 -%}
    {%- do dbt_lambda_sync.create_sync_tables() -%}
  {%- endif -%}
  {#- `dbt build --empty` leaves the relation without rows: diffing it would plan every delivered
      row as removed. The state row says so instead, and the runner sends nothing until a build
      without --empty captures again. -#}
  {%- set empty_build = dbt_lambda_sync._is_empty_build() -%}
  {%- for sync in syncs if not dbt_lambda_sync.definition_problem(sync) -%}
    {%- do dbt_lambda_sync.record_empty_build(sync['name'], model.name,
        invocation_id if empty_build else none) -%}
  {%- endfor -%}
  {%- if empty_build -%}
    {%- do log("dbt_lambda_sync: model '" ~ model.name ~ "' was built with --empty; changes not"
        ~ " captured, and its syncs send nothing until it is built without --empty", info=true) -%}
    {{ return('') }}
  {%- endif -%}
  {%- if model.config.materialized == 'view' -%}
    {#- a view has no stored rows to diff when it builds; the runner computes its plan instead -#}
    {{ return('') }}
  {%- endif -%}
  {%- for sync in syncs -%}
    {#- nothing of a definition reaches SQL before it passes this check -#}
    {%- set invalid = dbt_lambda_sync.definition_problem(sync) -%}
    {%- if invalid -%}
      {%- do log("dbt_lambda_sync: model '" ~ model.name ~ "': skipped a lambda_sync definition ("
          ~ ((sync.get('name') | string | tojson) if sync is mapping else 'no name') ~ "): "
          ~ invalid ~ "; changes not captured; run `dbt-lambda-sync validate` for details",
          info=true) -%}
    {%- else -%}
      {%- set problem = dbt_lambda_sync.resolve_sync_columns(
          this, sync['primary_key'], sync.get('columns')).problem -%}
      {%- if problem -%}
        {%- do log("dbt_lambda_sync: model '" ~ model.name ~ "', sync '" ~ sync['name'] ~ "', "
            ~ problem ~ "; changes not captured", info=true) -%}
      {%- else -%}
        {%- do dbt_lambda_sync.compute_plan(
            sync_name=sync['name'], model_name=model.name, relation=this,
            primary_key=sync['primary_key'], columns=sync.get('columns'),
            invocation=invocation_id) -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return('') }}
{%- endmacro %}


{#- Whether dbt runs with --empty: flags.EMPTY (dbt >= 1.8.2), else the invocation's arguments. -#}
{% macro _is_empty_build() -%}
  {%- if flags.EMPTY -%}{{ return(true) }}{%- endif -%}
  {{ return((invocation_args_dict or {}).get('empty') is true) }}
{%- endmacro %}
