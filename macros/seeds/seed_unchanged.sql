{#
  The seed materialization on the spark targets, as dbt's default one (dbt-core
  materializations/seeds/seed.sql: drop and re-create the table, then insert the rows) with one
  difference: a seed whose table already holds this CSV with these column types is left as it is,
  even with --full-refresh. Every `dbt build` reloads the 16 seeds otherwise, about a second each on
  Spark whatever their size, and most builds (tests, recalcs) run with seeds unchanged. The table
  records what it holds as table property regcalc_seed_fingerprint: the CSV's checksum (dbt's own,
  sha256 of the file) and the resolved column_types; any edit of the CSV or of its types reloads it.
#}
{% materialization seed, adapter='spark' %}
  {%- set identifier = model['alias'] -%}
  {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=identifier) -%}
  {%- set exists_as_table = (old_relation is not none and old_relation.is_table) -%}
  {%- if old_relation is not none and old_relation.is_view -%}
    {{ exceptions.raise_compiler_error("Cannot seed to '{}', it is a view".format(old_relation.render())) }}
  {%- endif -%}
  {%- set agate_table = load_agate_table() -%}
  {%- do store_result('agate_table', response='OK', agate_table=agate_table) -%}
  {%- set fingerprint = local_md5(model.checksum.checksum ~ '|' ~ tojson(model.config.get('column_types', {}))) -%}
  {%- set target_relation = this.incorporate(type='table') -%}

  {%- if exists_as_table and seed_fingerprint(old_relation) == fingerprint -%}
    {% call noop_statement('main', 'UNCHANGED', 'UNCHANGED', 0) %}
      -- {{ target_relation }} already holds this seed (regcalc_seed_fingerprint {{ fingerprint }})
    {% endcall %}
    {{ return({'relations': [target_relation]}) }}
  {%- endif -%}

  {{ run_hooks(pre_hooks) }}
  {%- if exists_as_table -%}
    {%- set create_table_sql = reset_csv_table(model, true, old_relation, agate_table) -%}
  {%- else -%}
    {%- set create_table_sql = create_csv_table(model, agate_table) -%}
  {%- endif -%}
  {%- set rows_affected = agate_table.rows | length -%}
  {%- set sql = load_csv_rows(model, agate_table) if rows_affected > 0 else "" -%}
  {#- Recorded last: a load that fails half way leaves no fingerprint, so the next build reloads. -#}
  {%- call statement('fingerprint') -%}
    alter table {{ target_relation }} set tblproperties ('regcalc_seed_fingerprint' = '{{ fingerprint }}')
  {%- endcall -%}
  {% call noop_statement('main', 'CREATE ' ~ rows_affected, 'CREATE', rows_affected) %}
    {{ get_csv_sql(create_table_sql, sql) }};
  {% endcall %}
  {% do persist_docs(target_relation, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#
  The fingerprint a seed table records (see the seed materialization above), none when it has none: from
  the relation cache when dbt listed the schema with `show table extended` (its "Table Properties"),
  else by asking the table.
#}
{% macro seed_fingerprint(relation) %}
  {%- set cached = modules.re.search('regcalc_seed_fingerprint=([0-9a-f]+)', relation.information or '') -%}
  {%- if cached -%}
    {{ return(cached.group(1)) }}
  {%- endif -%}
  {%- for row in run_query("show tblproperties " ~ relation).rows if row[0] == 'regcalc_seed_fingerprint' -%}
    {{ return(row[1]) }}
  {%- endfor -%}
  {{ return(none) }}
{% endmacro %}
