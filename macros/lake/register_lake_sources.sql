{#
  Expose the lake datasets (source 'lake') as tables in var('lake_schema'), from the sources YAML: the
  column list and types (`data_type`, the one definition the Spark jobs' output is tested against) and
  each table's `external:` block (location under the lake URI, file_format, partitions), the
  convention of dbt-external-tables. Not a hook: `regcalc run` and `regcalc recalc` run it once, as
  `dbt run-operation register_lake_sources`, before their build (python/regcalc/warehouse.py load_lake),
  so the builds and tests that follow on the same lake do not pay for it again.
#}
{% macro register_lake_sources() %}
  {{ return(adapter.dispatch('register_lake_sources', 'regcalc')()) }}
{% endmacro %}

{% macro lake_source_nodes() %}
  {{ return(graph.sources.values() | selectattr('source_name', 'equalto', 'lake') | list) }}
{% endmacro %}

{#
  Spark: the lake's commit log as table `lake_commits` (JSON records under <lake>/_commits, one row per
  dataset and published version of an as-of date: python/regcalc/lake.py), then an external parquet
  table per dataset, partitioned as its `external.partitions` say (as_of_date: the lake's layout), with
  one partition per date at the folder of its current version (the date's highest-numbered commit).
  Re-created at each registration (dropping an external table keeps its files) so that a new version or
  a changed lake URI is followed; a lake not yet written gives empty tables. The null partition holds
  the rejects whose as_of_date could not be read.
#}
{% macro spark__register_lake_sources() %}
  {% if execute %}
    {% set lake_schema = var('lake_schema') %}
    {% do run_query('create database if not exists ' ~ lake_schema) %}
    {% set commits = lake_schema ~ '.lake_commits' %}
    {% do run_query('drop table if exists ' ~ commits) %}
    {% do run_query(
      'create table ' ~ commits ~ ' (as_of_date string, version int, run_id string, committed_at string,'
      ~ ' dataset string, location string) using json options (recursiveFileLookup \'true\')'
      ~ ' location \'' ~ lake_uri() ~ '/_commits\''
    ) %}
    {# a date's current version: its highest (version, run_id), as regcalc.lake.CommitLog.current #}
    {% set current = run_query(
      'select dataset, as_of_date, location from (select *, max(struct(version, run_id))'
      ~ ' over (partition by as_of_date) as current_commit from ' ~ commits ~ ')'
      ~ ' where struct(version, run_id) = current_commit order by dataset, as_of_date'
    ) %}
    {% for source_node in lake_source_nodes() %}
      {% set table = lake_schema ~ '.' ~ source_node.name %}
      {% set external = source_node.external %}
      {% set partitioned_by = external.partitions | map(attribute='name') | join(', ') %}
      {% set columns = [] %}
      {% for column in source_node.columns.values() %}
        {% do columns.append(column.name ~ ' ' ~ column.data_type) %}
      {% endfor %}
      {% do run_query('drop table if exists ' ~ table) %}
      {% do run_query(
        'create table ' ~ table ~ ' (' ~ columns | join(', ') ~ ') using ' ~ external.file_format
        ~ ' partitioned by (' ~ partitioned_by ~ ') location \'' ~ lake_uri() ~ '/' ~ external.location ~ '\''
      ) %}
      {% set partitions = [] %}
      {% for row in current.rows if row['dataset'] == source_node.name %}
        {% set value = 'null' if row['as_of_date'] is none else "'" ~ row['as_of_date'] ~ "'" %}
        {% do partitions.append(
          'partition (as_of_date=' ~ value ~ ') location \'' ~ lake_uri() ~ '/' ~ row['location'] ~ '\''
        ) %}
      {% endfor %}
      {% for batch in partitions | batch(100) %}
        {% do run_query('alter table ' ~ table ~ ' add ' ~ batch | join(' ')) %}
      {% endfor %}
    {% endfor %}
  {% endif %}
{% endmacro %}

{#
  Redshift reads the lake through Spectrum external tables in var('lake_schema'). They are declared
  outside dbt by `regcalc register-spectrum` / `regcalc load-lake` (python/regcalc/spectrum.py, from the
  same sources YAML and its `external:` blocks), which read the lake's commit records on S3 and run DDL
  that cannot run in dbt's transaction; PostgreSQL tables are loaded by python/regcalc/warehouse.py.
#}
{% macro default__register_lake_sources() %}
  {{ return('') }}
{% endmacro %}
