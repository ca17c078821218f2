{#
  Run monitoring: one row per node result of every dbt invocation in the table `regcalc_run_log`
  (target schema), written by two on-run-end hooks (dbt_project.yml). Plain SQL that Spark and
  Redshift both run: CREATE TABLE IF NOT EXISTS and one INSERT ... SELECT, every value a literal
  (strings through string_literal), row counts as scalar subqueries. No query runs while the hook
  renders, so the hook's statement is the only write and dbt runs it outside a transaction.
#}

{% macro regcalc_run_log_relation() %}
  {{ return(api.Relation.create(schema=target.schema, identifier='regcalc_run_log')) }}
{% endmacro %}


{# The run-log columns and their portable types, in table order. #}
{% macro regcalc_run_log_columns() %}
  {{ return([
    ('invocation_id', dbt.type_string()),
    ('regcalc_run_id', dbt.type_string()),
    ('run_started_at', dbt.type_timestamp()),
    ('node_unique_id', type_long_string()),
    ('node_name', type_long_string()),
    ('resource_type', dbt.type_string()),
    ('materialization', dbt.type_string()),
    ('status', dbt.type_string()),
    ('execution_seconds', type_double()),
    ('rows_out', dbt.type_bigint()),
    ('rows_in', dbt.type_bigint()),
    ('failures', dbt.type_bigint()),
  ]) }}
{% endmacro %}


{# on-run-end hook 1: the table, if absent. #}
{% macro create_regcalc_run_log() %}
  {% if not execute %}{{ return('') }}{% endif %}
  {% set columns = [] %}
  {% for name, data_type in regcalc_run_log_columns() %}
    {% do columns.append(name ~ ' ' ~ data_type) %}
  {% endfor %}
  {{ return('create table if not exists ' ~ regcalc_run_log_relation() ~ ' (' ~ columns | join(', ') ~ ')') }}
{% endmacro %}


{# on-run-end hook 2: the INSERT of this invocation's results (empty when there are none). #}
{% macro log_run_results(results) %}
  {% if not execute or not results %}{{ return('') }}{% endif %}
  {{ return(regcalc_run_log_insert(regcalc_run_log_rows(results))) }}
{% endmacro %}


{#
  The rows to log, as plain values, from dbt's result objects.
  rows_out: the relation of every successful table, incremental, seed or snapshot is counted.
    Views are not: counting one re-runs its query (for the staging views a scan of the lake).
    Ephemeral models have no relation.
  rows_in: the sum of the counted rows of the node's direct parents (models, seeds, snapshots and
    sources), when every one of them was counted in this invocation; null otherwise (a parent is a
    view, a source or was not selected), never a partial sum. Seeds that a model only looks up
    (parameters, rules) are parents too and are included.
#}
{% macro regcalc_run_log_rows(results) %}
  {% set counted_relations = {} %}
  {% for result in results
        if result.node.resource_type in ('model', 'seed', 'snapshot') and (result.status | string) == 'success'
        and result.node.config.materialized in ('table', 'incremental', 'seed', 'snapshot') %}
    {% do counted_relations.update({result.node.unique_id: result.node.relation_name}) %}
  {% endfor %}
  {% set rows = [] %}
  {% for result in results if result.node.resource_type != 'operation' %}
    {% set node = result.node %}
    {% set parents = (node.depends_on.nodes if node.resource_type in ('model', 'snapshot') else []) | list %}
    {% set parent_relations = [] %}
    {% for parent in parents if parent in counted_relations %}
      {% do parent_relations.append(counted_relations[parent]) %}
    {% endfor %}
    {% do rows.append({
      'node_unique_id': node.unique_id,
      'node_name': node.name,
      'resource_type': node.resource_type | string,
      'materialization': node.config.materialized,
      'status': result.status | string,
      'execution_seconds': result.execution_time,
      'failures': result.failures,
      'rows_out_relation': counted_relations.get(node.unique_id),
      'rows_in_relations': parent_relations if parents and parent_relations | length == parents | length else none,
    }) %}
  {% endfor %}
  {{ return(rows) }}
{% endmacro %}


{#
  INSERT ... SELECT of `rows` (from regcalc_run_log_rows): one SELECT of literals per row, joined by
  UNION ALL. rows_out is `(select count(*) from <relation>)`, rows_in the sum of such counts.
#}
{% macro regcalc_run_log_insert(rows) %}
  {% set column_names = [] %}
  {% for name, data_type in regcalc_run_log_columns() %}{% do column_names.append(name) %}{% endfor %}
  {% set regcalc_run_id = var('regcalc_run_id', none) %}
  {%- set sql -%}
insert into {{ regcalc_run_log_relation() }} ({{ column_names | join(', ') }})
{% for row in rows -%}
select
    {{ regcalc_run_log_string(invocation_id) }} as invocation_id,
    {{ regcalc_run_log_string(regcalc_run_id) }} as regcalc_run_id,
    cast({{ string_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as {{ dbt.type_timestamp() }}) as run_started_at,
    {{ regcalc_run_log_string(row.node_unique_id) }} as node_unique_id,
    {{ regcalc_run_log_string(row.node_name) }} as node_name,
    {{ regcalc_run_log_string(row.resource_type) }} as resource_type,
    {{ regcalc_run_log_string(row.materialization) }} as materialization,
    {{ regcalc_run_log_string(row.status) }} as status,
    cast({{ '%.3f' | format(row.execution_seconds or 0) }} as {{ type_double() }}) as execution_seconds,
    {{ regcalc_run_log_count([row.rows_out_relation] if row.rows_out_relation else none) }} as rows_out,
    {{ regcalc_run_log_count(row.rows_in_relations) }} as rows_in,
    cast({{ row.failures if row.failures is not none else 'null' }} as {{ dbt.type_bigint() }}) as failures
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
  {%- endset %}
  {{ return(sql) }}
{% endmacro %}


{% macro regcalc_run_log_string(value) %}
  {{- return('cast(null as ' ~ dbt.type_string() ~ ')' if value is none else string_literal(value)) -}}
{% endmacro %}


{# The summed row counts of `relations` as a bigint expression; null for none. #}
{% macro regcalc_run_log_count(relations) %}
  {% if relations is none %}{{ return('cast(null as ' ~ dbt.type_bigint() ~ ')') }}{% endif %}
  {% set counts = [] %}
  {% for relation in relations %}{% do counts.append('(select count(*) from ' ~ relation ~ ')') %}{% endfor %}
  {{ return(counts | join(' + ')) }}
{% endmacro %}
