{#
  Project-wide fix for seeds on dbt-spark (dbt-adapters#487). dbt dispatches load_csv_rows in the
  'dbt' namespace, where a root-project macro wins over the adapter's, so these replace dbt-spark's
  own spark__load_csv_rows / spark__get_batch_size for every seed on the spark targets (session and
  thrift); Redshift keeps its own loader.

  The stock macro passes values as %s bindings that the session cursor pastes into the SQL as
  '<python str>': None becomes 'None', a quote breaks the statement, Spark's escape processing eats
  backslashes. It also re-infers the column's type for every cell (a scan of the whole column for
  numbers), so its cost grows with rows x rows; here types are inferred once per column.
#}

{% macro spark__get_batch_size() %}
  {#- Each INSERT is one Spark job and one parquet file; 200 rows keeps statements small to parse
      while a few hundred rows still load in a handful of jobs. -#}
  {{ return(200) }}
{% endmacro %}


{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set column_types = [] -%}
  {%- for col_name in agate_table.column_names -%}
    {%- do column_types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
  {%- endfor -%}

  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {#- cast() to the column's type so every VALUES row has the table's types, NULLs included. -#}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for value in row -%}
          cast({{ spark_seed_literal(value) }} as {{ column_types[loop.index0] }})
          {%- if not loop.last %}, {% endif -%}
        {%- endfor -%}){{ ',' if not loop.last }}
      {% endfor -%}
    {%- endset -%}
    {#- No bindings: given any, the session cursor %-formats the SQL and a '%' in a value breaks it. -#}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- do statements.append(sql) -%}
  {%- endfor -%}

  {#- Rendered into target/run as the seed's SQL, like the stock macro does. -#}
  {{ return(statements[0]) }}
{% endmacro %}


{% macro spark_seed_literal(value) -%}
  {%- if value is none -%}
    null
  {%- elif value is boolean -%}
    {{ 'true' if value else 'false' }}
  {#- agate parses CSV numbers to Decimal; str() of a finite one is a valid Spark numeric literal
      (NaN / Infinity are not, so they go through the string branch and cast()). -#}
  {%- elif value is number and value.is_finite() -%}
    {{ value }}
  {%- else -%}
    {#- Escaped by the project's one string-literal macro (dates/timestamps too, then cast). -#}
    {{ regcalc.string_literal(value) }}
  {%- endif -%}
{%- endmacro %}
