{#
  Run monitoring: one row per node result of every dbt invocation in the table `regcalc_run_log`
  (target schema), written by two on-run-end hooks (dbt_project.yml). Plain SQL that Spark and
  Redshift both run: CREATE TABLE IF NOT EXISTS, one SELECT counting the tables built, and one
  INSERT ... VALUES of literals (strings through string_literal). dbt runs on-run-end hooks outside a
  transaction (each statement commits on Redshift's default autocommit connection).
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


{#
  on-run-end hook 2: the INSERT of this invocation's results ('' when there are none). The row
  counts are read first, in one SELECT (run_query runs outside any transaction), so the INSERT holds
  only literals.
#}
{% macro log_run_results(results) %}
  {% if not execute or not results %}{{ return('') }}{% endif %}
  {% set counted = regcalc_run_log_counted_relations(results) %}
  {% set counts = {} %}
  {% if counted %}
    {% for row in run_query(regcalc_run_log_count_query(counted)).rows %}
      {% do counts.update({row[0]: row[1] | int}) %}
    {% endfor %}
  {% endif %}
  {{ return(regcalc_run_log_insert(regcalc_run_log_rows(results, counts))) }}
{% endmacro %}


{#
  {unique_id: relation} of the nodes whose rows are counted: every successful table, incremental,
  seed or snapshot. Views are not: counting one re-runs its query (for the staging views a scan of
  the lake). Ephemeral models have no relation.
#}
{% macro regcalc_run_log_counted_relations(results) %}
  {% set counted = {} %}
  {% for result in results
        if result.node.resource_type in ('model', 'seed', 'snapshot') and (result.status | string) == 'success'
        and result.node.config.materialized in ('table', 'incremental', 'seed', 'snapshot') %}
    {% do counted.update({result.node.unique_id: result.node.relation_name}) %}
  {% endfor %}
  {{ return(counted) }}
{% endmacro %}


{# One SELECT of (node_unique_id, row_count) for every counted relation. #}
{% macro regcalc_run_log_count_query(counted) %}
  {% set selects = [] %}
  {% for unique_id, relation in counted.items() | sort %}
    {% do selects.append('select ' ~ string_literal(unique_id) ~ ' as node_unique_id, count(*) as row_count from ' ~ relation) %}
  {% endfor %}
  {{ return(selects | join(' union all ')) }}
{% endmacro %}


{#
  The rows to log, as plain values, from dbt's result objects and the row counts.
  rows_in: the sum of the counted rows of the node's direct parents (models, seeds, snapshots and
    sources), when every one of them was counted in this invocation; null otherwise (a parent is a
    view, a source or was not selected), never a partial sum. Seeds that a model only looks up
    (parameters, rules) are parents too and are included.
#}
{% macro regcalc_run_log_rows(results, counts) %}
  {% set rows = [] %}
  {# hooks and exposures (a BI consumer: nothing is built, dbt reports it as no-op) are not logged #}
  {% for result in results if result.node.resource_type not in ('operation', 'exposure') %}
    {% set node = result.node %}
    {% set parents = (node.depends_on.nodes if node.resource_type in ('model', 'snapshot') else []) | list %}
    {% set inputs = namespace(total=0, counted=0) %}
    {% for parent in parents if parent in counts %}
      {% set inputs.total = inputs.total + counts[parent] %}
      {% set inputs.counted = inputs.counted + 1 %}
    {% endfor %}
    {% do rows.append({
      'node_unique_id': node.unique_id,
      'node_name': node.name,
      'resource_type': node.resource_type | string,
      'materialization': node.config.materialized,
      'status': result.status | string,
      'execution_seconds': result.execution_time,
      'failures': result.failures,
      'rows_out': counts.get(node.unique_id),
      'rows_in': inputs.total if parents and inputs.counted == parents | length else none,
    }) %}
  {% endfor %}
  {{ return(rows) }}
{% endmacro %}


{# INSERT ... VALUES of `rows` (from regcalc_run_log_rows), one typed literal per value. #}
{% macro regcalc_run_log_insert(rows) %}
  {% set column_names = [] %}
  {% for name, data_type in regcalc_run_log_columns() %}{% do column_names.append(name) %}{% endfor %}
  {% set started_at = string_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) %}
  {%- set sql -%}
insert into {{ regcalc_run_log_relation() }} ({{ column_names | join(', ') }})
values
{%- for row in rows %}
    ({{ regcalc_run_log_string(invocation_id) }}, {{ regcalc_run_log_string(var('regcalc_run_id', none)) }},
     cast({{ started_at }} as {{ dbt.type_timestamp() }}),
     {{ regcalc_run_log_string(row.node_unique_id) }}, {{ regcalc_run_log_string(row.node_name) }},
     {{ regcalc_run_log_string(row.resource_type) }}, {{ regcalc_run_log_string(row.materialization) }},
     {{ regcalc_run_log_string(row.status) }},
     cast({{ '%.3f' | format(row.execution_seconds or 0) }} as {{ type_double() }}),
     {{ regcalc_run_log_bigint(row.rows_out) }}, {{ regcalc_run_log_bigint(row.rows_in) }},
     {{ regcalc_run_log_bigint(row.failures) }}){{ ',' if not loop.last }}
{%- endfor %}
  {%- endset %}
  {{ return(sql) }}
{% endmacro %}


{% macro regcalc_run_log_string(value) %}
  {{- return('cast(null as ' ~ dbt.type_string() ~ ')' if value is none else string_literal(value)) -}}
{% endmacro %}


{% macro regcalc_run_log_bigint(value) %}
  {{- return('cast(' ~ ('null' if value is none else value | int) ~ ' as ' ~ dbt.type_bigint() ~ ')') -}}
{% endmacro %}
