{#
  Generic test: none of `columns` is null, checked in one scan of the model. dbt's built-in
  not_null reads the model once per column, and a data test's fixed cost (0.1-0.2 s on Spark, a
  full pass over a deal-level view) is paid per query: issue 11. Returns the rows with a null in any
  of the columns, those columns only.
#}
{% test not_null_columns(model, columns) %}
    select {{ columns | join(', ') }}
    from {{ model }}
    where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
