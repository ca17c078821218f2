{#
  Expose the lake datasets (source 'lake') as tables in var('lake_schema').
  The column list and types come from the source YAML (`data_type`), the one definition the Spark
  jobs' output is tested against, so the tables exist even before the jobs first ran.
#}
{% macro register_lake_sources() %}
  {# false: keep the tables as the last run left them (e.g. a follow-up build on the same lake) #}
  {% if not var('register_lake_sources', true) %}{{ return('') }}{% endif %}
  {{ return(adapter.dispatch('register_lake_sources', 'regcalc')()) }}
{% endmacro %}

{% macro lake_source_nodes() %}
  {{ return(graph.sources.values() | selectattr('source_name', 'equalto', 'lake') | list) }}
{% endmacro %}

{#
  Spark: an external parquet table per dataset, partitioned by as_of_date. Re-created every run
  (dropping an external table keeps its files) so a changed lake URI is followed, then its
  partitions are recovered so the partitions the jobs published are visible.
#}
{% macro spark__register_lake_sources() %}
  {% if execute %}
    {% set lake_schema = var('lake_schema') %}
    {% do run_query('create database if not exists ' ~ lake_schema) %}
    {% for source_node in lake_source_nodes() %}
      {% set table = lake_schema ~ '.' ~ source_node.name %}
      {% set columns = [] %}
      {% for column in source_node.columns.values() %}
        {% do columns.append(column.name ~ ' ' ~ column.data_type) %}
      {% endfor %}
      {% do run_query('drop table if exists ' ~ table) %}
      {% do run_query(
        'create table ' ~ table ~ ' (' ~ columns | join(', ') ~ ') using parquet'
        ~ ' partitioned by (as_of_date) location \'' ~ lake_uri() ~ '/' ~ source_node.name ~ '\''
      ) %}
      {% do run_query('alter table ' ~ table ~ ' recover partitions') %}
    {% endfor %}
  {% endif %}
{% endmacro %}

{#
  Redshift reads the lake through Spectrum external tables in var('lake_schema'). They are declared
  outside dbt by `regcalc register-spectrum` (python/regcalc/spectrum.py, from the same sources YAML),
  which lists the published partitions on S3 and runs DDL that cannot run in dbt's transaction.
#}
{% macro default__register_lake_sources() %}
  {{ return('') }}
{% endmacro %}
