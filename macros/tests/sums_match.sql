{#
  Generic test: the model's row count and measure totals per group equal those of compare_model
  (filtered by compare_filter, e.g. "scenario = 'base'"), exactly by default: amounts are money
  (exact decimals, README "What is exact"), so an aggregate adds up to what it summarises to the
  last digit; `tolerance` is for a floating-point measure summed over several rows. For aggregates
  and derived facts, group by group, with no group missing on either side. Returns the groups that
  differ.
  `count_column`: sum this model column to compare with compare_model's row count (an aggregate's
  deal_count against the deal rows); without it the two row counts are compared. compare_model is
  read through recalc_test_relation, as dbt reads the model: in a recalculation both sides hold the
  same dates.
#}
{% test sums_match(model, compare_model, group_by, measures, compare_filter=none, model_filter=none,
                   count_column=none, compare_count_column=none, tolerance=0) %}
    with actual as (
        {{ _sums_match_totals(model, group_by, measures, model_filter, count_column) }}
    ),

    expected as (
        {{ _sums_match_totals(recalc_test_relation(compare_model), group_by, measures, compare_filter, compare_count_column) }}
    )

    select
        {% for column in group_by %}coalesce(actual.{{ column }}, expected.{{ column }}) as {{ column }}, {% endfor %}
        actual.row_count as actual_row_count,
        expected.row_count as expected_row_count
    from actual
    full outer join expected
        on {% for column in group_by %}{{ 'and ' if not loop.first }}actual.{{ column }} = expected.{{ column }} {% endfor %}
    where actual.row_count is null
        or expected.row_count is null
        or actual.row_count <> expected.row_count
        {%- for measure in measures %}
        or abs(coalesce(actual.{{ measure }}, 0) - coalesce(expected.{{ measure }}, 0)) > {{ tolerance }}
        {%- endfor %}
{% endtest %}

{# One side of sums_match: row count (or sum of count_column) and measure totals per group. #}
{% macro _sums_match_totals(relation, group_by, measures, filter, count_column) %}
        select
            {{ group_by | join(', ') }},
            {{ 'sum(' ~ count_column ~ ')' if count_column else 'count(*)' }} as row_count
            {%- for measure in measures %},
            sum({{ measure }}) as {{ measure }}
            {%- endfor %}
        from {{ relation }}
        {% if filter %}where {{ filter }}{% endif %}
        group by {{ group_by | join(', ') }}
{% endmacro %}
