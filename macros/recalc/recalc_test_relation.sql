{#
  Incremental recalculation, the data tests: a build with var `recalc_dates` rewrites only those
  dates of the as-of-date partitioned models, so their data tests read only those dates too, and so
  do the tests of the as-of-date local views and tables (as_of_date_local). The other dates were
  tested when they were built and the build leaves them as they were (that is what makes the
  partitioned models' insert_overwrite / delete+insert correct). Without the var every test reads
  every date, and its compiled SQL is dbt's own.
#}

{#
  dbt wraps the model of every generic test in get_where_subquery (adapter.dispatch, namespace
  `dbt`): this root-project default__ wins over dbt's. It keeps dbt's behaviour for the test config
  `where` and adds the recalculation's dates (recalc_test_relation).
#}
{% macro default__get_where_subquery(relation) -%}
    {% do return(recalc_test_relation(relation, config.get('where', ''))) %}
{%- endmacro %}

{#
  dbt's relationships test, with the parent (`to`) read through recalc_test_relation when it is as-of-date
  local (as_of_date_local) as well as the tested model: a row of a partitioned model refers to a row of the same
  as-of date in another (its key's grain holds the date, e.g. bridge_deal_adjustment -> fct_deal_liquidity),
  so in a recalculation both sides hold the recalculated dates. A parent without dates (a dimension, a
  seed) is read whole, as dbt reads it.
#}
{% macro default__test_relationships(model, column_name, to, field) %}
    {%- set parent = recalc_related_relation(to) %}
with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ parent }}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null
{%- endmacro %}

{#
  `relation`, a node the running data test depends on, through recalc_test_relation if that node is
  as-of-date local (as_of_date_local), else as it is. (A macro of its own: the test macros' `model` argument hides
  the running test's node.)
#}
{% macro recalc_related_relation(relation) %}
    {%- if execute -%}
        {%- for unique_id in model.depends_on.nodes -%}
            {%- set node = graph.nodes.get(unique_id) -%}
            {%- if node and node.alias == relation.identifier and as_of_date_local(node) -%}
                {% do return(recalc_test_relation(relation)) %}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {% do return(relation) %}
{% endmacro %}

{#
  A relation that a data test reads: `relation` itself, or `(select * from <relation> where ...)
  dbt_subquery` restricted to the test config `where` (as dbt does) and, when the test reads only
  the recalculated dates (recalc_test_dates_condition), to those dates. The one home of the
  restriction: get_where_subquery applies it to the tested model, and the generic tests that compare
  with a second relation (keys_preserved's parent, sums_match's compare_model) and the singular
  reconciliation tests apply it to the relations they compare, so both sides read the same dates.
  The relation must have an `as_of_date` column when the restriction applies.
#}
{% macro recalc_test_relation(relation, where='') %}
    {%- set dates = recalc_test_dates_condition() -%}
    {%- if dates and where -%}
        {%- set condition = '(' ~ where ~ ') and ' ~ dates -%}
    {%- else -%}
        {%- set condition = where or dates -%}
    {%- endif -%}
    {%- if not condition -%}
        {% do return(relation) %}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ condition }}) dbt_subquery
    {%- endset -%}
    {% do return(filtered) %}
{% endmacro %}

{#
  The condition `as_of_date in (<var recalc_dates>)` if the running data test reads only the
  recalculated dates, else none. A generic test does when its tested model is as-of-date local
  (as_of_date_local); a singular test does whenever the var is set, on the relations it passes
  to recalc_test_relation. None with --full-refresh (the models rebuild every date: the var then
  restricts nothing), at parse time (`execute` false) and outside a data test.
#}
{% macro recalc_test_dates_condition() %}
    {%- if var('recalc_dates', none) is none or flags.FULL_REFRESH or not execute or model.resource_type != 'test' -%}
        {% do return(none) %}
    {%- endif -%}
    {%- if model.get('test_metadata') -%}
        {%- set tested = graph.nodes.get(model.get('attached_node')) -%}
        {%- if tested is none or not as_of_date_local(tested) -%}
            {% do return(none) %}
        {%- endif -%}
    {%- endif -%}
    {% do return(recalc_dates_in('as_of_date')) %}
{% endmacro %}

{#
  Whether a node of the graph is as-of-date local: each as-of date's rows are computed from that
  date's rows of its inputs alone, so in a recalculation the other dates are as they were when they
  were built and tested. True when its config `partition_by` is or contains `as_of_date` (the anchor
  as_of_date_partitioned of dbt_project.yml: the recalculation rewrites it by date), or when its
  `meta` has `as_of_date_local: true` (anchor as_of_date_local: views and tables rebuilt whole, whose
  SQL groups and joins within a date). The one test of that fact.
#}
{% macro as_of_date_local(node) %}
    {%- set partition_by = node.config.get('partition_by') -%}
    {%- if partition_by is string -%}
        {%- set partition_by = [partition_by] -%}
    {%- endif -%}
    {% do return('as_of_date' in (partition_by or []) or (node.config.get('meta') or {}).get('as_of_date_local', false)) %}
{% endmacro %}
