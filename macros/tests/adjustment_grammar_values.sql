{#
  Generic test on the adjustment rule seeds: every value of `column_name` is one that the rule
  grammar allows, read from the one declaration (dbt_project.yml): `entry` names a list of var
  adjustment_grammar (operators, operations) or `injection_points` (the keys of var
  adjustment_points). Values are trimmed, and lower-cased when `ignore_case` (operators and
  operations are read that way); `also` lists values allowed besides (the waterfall's `unadjusted`).
  Returns the rows whose value is not allowed (a blank one too).
#}
{% test adjustment_grammar_values(model, column_name, entry, ignore_case=false, also=[]) %}
    {%- set allowed = (var('adjustment_points').keys() | list if entry == 'injection_points'
                       else var('adjustment_grammar')[entry]) + also -%}
    {%- set value = 'coalesce(trim(' ~ column_name ~ "), '')" -%}
    select {{ column_name }} as value
    from {{ model }}
    where {{ 'lower(' ~ value ~ ')' if ignore_case else value }} not in (
        {%- for item in allowed %}{{ regcalc.string_literal(item) }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{% endtest %}
