{#
  Generic test: every value of `column_name` is one of the input contract's codes for `of_column`,
  read from the one declaration (the accepted_values test on `of_column` of staging model `of_model`,
  models/staging/_staging__models.yml, through accepted_values_of), so a seed that names contract
  codes does not retype the list. Returns the rows whose value is not a contract code (nulls pass).
#}
{% test contract_values(model, column_name, of_model, of_column) %}
    {%- set allowed = accepted_values_of(of_model, of_column) -%}
    select {{ column_name }} as value
    from {{ model }}
    where {{ column_name }} is not null and {{ column_name }} not in (
        {%- for item in allowed %}{{ regcalc.string_literal(item) }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{% endtest %}
