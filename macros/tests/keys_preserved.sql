{#
  Generic test: `model` holds exactly the key set of `parent` on `key_columns` (a lineage break is a
  key the model gained or lost on the way). Returns one row per differing key, with `lineage_break`
  'gained' (in the model, not in the parent) or 'lost' (in the parent, not in the model).
  Keys are compared as sets (EXCEPT): a model with one row per key and scenario preserves the keys
  of a parent without scenarios. The parent is read through recalc_test_relation, as dbt reads the
  model: in a recalculation both sides hold the same dates.
#}
{% test keys_preserved(model, parent, key_columns) %}
    {%- set columns = key_columns | join(', ') -%}
    {%- set parent = recalc_test_relation(parent) -%}
    select 'gained' as lineage_break, gained.*
    from (
        select {{ columns }} from {{ model }}
        except
        select {{ columns }} from {{ parent }}
    ) gained
    union all
    select 'lost' as lineage_break, lost.*
    from (
        select {{ columns }} from {{ parent }}
        except
        select {{ columns }} from {{ model }}
    ) lost
{% endtest %}
