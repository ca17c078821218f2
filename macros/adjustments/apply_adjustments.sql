{#
  The adjustment model of one injection point: the point's upstream rows, every scenario, and each
  approved rule of the point applied in order (priority, then rule_id). Set-based and flat: one
  projection evaluates every rule's conditions (conditions see the values as they arrive at the
  point), one projection computes every adjusted value, so the plan stays small however many rules
  there are. Output columns: the upstream model's documented columns (recomputed ones recomputed),
  `scenario`, `is_adjusted`, `adjustment_rule_ids`, and per rule `adj_<n>_hit` with
  `adj_<n>__<field>_before` / `_after` for the audit. A decimal field (money_type, rate_type) keeps its type: rule
  values are cast to it, each result and each recomputed value is rounded HALF_UP to its scale, like
  the Spark jobs round theirs (macro as_type).

  A thin model file declares the point:   {{ apply_adjustments('deal') }}
  and is named after the point's model (macro adjusted_model_name).
#}
{% macro apply_adjustments(point_name) %}
  {% set point = var('adjustment_points')[point_name] %}
  {% set rule_set = load_adjustment_rules() %}
  {% set rules = adjustment_point_rules(point_name, rule_set) %}
  {% set columns = adjustment_point_columns(point_name) %}
  {% set fields = adjustment_point_fields(point_name) if rules else {} %}
  {% set types = adjustment_point_types(point_name) %}
  {% set has_scenario = 'scenario' in columns %}
  {% set data_columns = columns | reject('equalto', 'scenario') | list %}
  {% set touched = [] %}
  {% for rule in rules %}{% for action in rule.actions if action.field not in touched %}
    {% do touched.append(action.field) %}
  {% endfor %}{% endfor %}
-- depends_on: {{ ref('adjustment_rules') }}, {{ ref('adjustment_conditions') }}, {{ ref('adjustment_actions') }}
with upstream as (

    select * from {{ ref(point.model) }}
    where {{ regcalc.recalc_dates_condition('as_of_date') }}

),

{% if not has_scenario %}
scenarios as (

    {% for scenario in rule_set.scenarios %}
    select {{ regcalc.string_literal(scenario) }} as scenario{% if not loop.last %} union all{% endif %}
    {% endfor %}

),

{% endif %}
expanded as (

    select
        {% for column in data_columns %}upstream.{{ column }},
        {% endfor %}{{ 'scenarios.scenario' if not has_scenario else 'upstream.scenario' }}
    from upstream
    {% if not has_scenario %}cross join scenarios{% endif %}

),

matched as (

    select
        expanded.*
        {% for rule in rules %},
        coalesce({{ adjustment_rule_condition(rule, fields, 'expanded', types) }}, false) as adj_{{ loop.index }}_hit
        {% endfor %}
    from expanded

),

adjusted as (

    select
        {% for column in data_columns %}
        {{ adjustment_value(column, rules, rules | length, fields, types) if column in touched else 'matched.' ~ column }} as {{ column }},
        {% endfor %}
        matched.scenario,
        {% if rules %}
        {% set ids = [] %}
        {% for rule in rules %}
          {% do ids.append('case when matched.adj_' ~ loop.index ~ '_hit then ' ~ regcalc.string_literal(',' ~ rule.rule_id) ~ " else '' end") %}
        {% endfor %}
        nullif(trim(leading ',' from {{ ids | join(' || ') }}), '') as adjustment_rule_ids
        {% else %}
        cast(null as {{ dbt.type_string() }}) as adjustment_rule_ids
        {% endif %}
        {% for rule in rules %}{% set n = loop.index %},
        matched.adj_{{ n }}_hit
        {% for action in rule.actions %},
        {{ adjustment_value(action.field, rules, n - 1, fields, types) }} as adj_{{ n }}__{{ action.field }}_before,
        {{ adjustment_value(action.field, rules, n, fields, types) }} as adj_{{ n }}__{{ action.field }}_after
        {% endfor %}{% endfor %}
    from matched

),

final as (

    select
        {% for column in data_columns %}
        {{ adjustment_recomputed(point.recompute[column], types.get(column)) if column in point.get('recompute', {}) else 'adjusted.' ~ column }} as {{ column }},
        {% endfor %}
        adjusted.scenario,
        adjusted.adjustment_rule_ids is not null as is_adjusted,
        adjusted.adjustment_rule_ids
        {% for rule in rules %}{% set n = loop.index %},
        adjusted.adj_{{ n }}_hit
        {% for action in rule.actions %},
        adjusted.adj_{{ n }}__{{ action.field }}_before,
        adjusted.adj_{{ n }}__{{ action.field }}_after
        {% endfor %}{% endfor %}
    from adjusted

)

select * from final
{% endmacro %}


{#
  The value of `field` after the first `upto` rules (in application order), as one expression
  over `matched`. Each rule appears once: multiply and add scale or shift by a CASE on the rule's
  hit flag, override replaces the value when hit, so the text grows linearly with the rules. A
  decimal field's values are of its type and each result is brought back to it (rounded HALF_UP).
#}
{% macro adjustment_value(field, rules, upto, fields, types) %}
  {% set expression = namespace(sql='matched.' ~ field) %}
  {% set field_decimal_type = regcalc.decimal_type(types[field]) %}
  {% for rule in rules[:upto] %}
    {% set hit = 'matched.adj_' ~ loop.index ~ '_hit' %}
    {% for action in rule.actions if action.field == field %}
      {% set value = adjustment_literal(action.value, 'number' if action.operation != 'override' else fields[field], field_decimal_type) %}
      {% if action.operation == 'multiply' %}
        {% set expression.sql = '(' ~ expression.sql ~ ' * case when ' ~ hit ~ ' then ' ~ value ~ ' else 1 end)' %}
      {% elif action.operation == 'add' %}
        {% set expression.sql = '(' ~ expression.sql ~ ' + case when ' ~ hit ~ ' then ' ~ value ~ ' else 0 end)' %}
      {% else %}
        {% set expression.sql = '(case when ' ~ hit ~ ' then ' ~ value ~ ' else ' ~ expression.sql ~ ' end)' %}
      {% endif %}
      {% if field_decimal_type %}{% set expression.sql = regcalc.as_type(expression.sql, field_decimal_type) %}{% endif %}
    {% endfor %}
  {% endfor %}
  {{ return(expression.sql) }}
{% endmacro %}


{#
  A value the point recomputes from adjusted inputs (vars.adjustment_points.<point>.recompute), as
  its column's type: weighted_amount = amount_reporting_ccy x weight rounded HALF_UP to the money scale, as the
  haircut job rounds it.
#}
{% macro adjustment_recomputed(expression, data_type) %}
  {{ return(regcalc.as_type(expression, data_type) if regcalc.decimal_type(data_type) else expression) }}
{% endmacro %}


{# The approved rules of one point, in application order (priority, then rule_id). #}
{% macro adjustment_point_rules(point_name, rule_set) %}
  {% set selected = [] %}
  {% for rule in rule_set.rules if rule.injection_point == point_name and rule.status == 'approved'
        and (rule.scenario == 'base' or rule.scenario in rule_set.scenarios) %}
    {% do selected.append(rule) %}
  {% endfor %}
  {{ return(selected | sort(attribute='rule_id') | sort(attribute='priority_number')) }}
{% endmacro %}


{# The documented columns of the point's upstream model, in YAML order. #}
{% macro adjustment_point_columns(point_name) %}
  {% set point = var('adjustment_points')[point_name] %}
  {% set columns = [] %}
  {% if not execute %}{{ return(columns) }}{% endif %}  {# the graph is known only at execution #}
  {% for node in graph.nodes.values() if node.resource_type == 'model' and node.name == point.model %}
    {% for column in node.columns.values() %}{% do columns.append(column.name) %}{% endfor %}
  {% endfor %}
  {{ return(columns) }}
{% endmacro %}


{# When a rule applies to a row: its scenario, its effective dates, and all its conditions. #}
{% macro adjustment_rule_condition(rule, fields, relation, types) %}
  {% set parts = [] %}
  {% if rule.scenario != 'base' %}
    {% do parts.append(relation ~ '.scenario = ' ~ regcalc.string_literal(rule.scenario)) %}
  {% endif %}
  {% do parts.append(relation ~ '.as_of_date >= ' ~ adjustment_literal(rule.effective_from, 'date')) %}
  {% if rule.expiry %}
    {% do parts.append(relation ~ '.as_of_date <= ' ~ adjustment_literal(rule.expiry, 'date')) %}
  {% endif %}
  {% for condition in rule.conditions %}
    {% do parts.append(adjustment_condition_sql(condition, fields[condition.field], relation ~ '.' ~ condition.field,
                                                regcalc.decimal_type(types[condition.field]))) %}
  {% endfor %}
  {{ return('(' ~ parts | join(' and ') ~ ')') }}
{% endmacro %}


{% macro adjustment_condition_sql(condition, type_class, column, data_type=none) %}
  {% set op = condition.operator %}
  {% if op == 'is null' %}{{ return(column ~ ' is null') }}
  {% elif op == 'is not null' %}{{ return(column ~ ' is not null') }}
  {% elif op in ['in', 'not in'] %}
    {% set items = [] %}
    {% for item in condition.value.split(var('adjustment_grammar').list_separator) %}{% do items.append(adjustment_literal(item, type_class, data_type)) %}{% endfor %}
    {{ return(column ~ ' ' ~ op ~ ' (' ~ items | join(', ') ~ ')') }}
  {% elif op == 'between' %}
    {% set low, high = condition.value.split(var('adjustment_grammar').list_separator) %}
    {{ return(column ~ ' between ' ~ adjustment_literal(low, type_class, data_type) ~ ' and ' ~ adjustment_literal(high, type_class, data_type)) }}
  {% elif op == '!=' %}
    {{ return(column ~ ' <> ' ~ adjustment_literal(condition.value, type_class, data_type)) }}
  {% endif %}
  {{ return(column ~ ' ' ~ op ~ ' ' ~ adjustment_literal(condition.value, type_class, data_type)) }}
{% endmacro %}


{#
  A typed SQL literal of a CSV value. Values were validated first; numbers are re-rendered from
  their parsed float and dates from their checked text, so no CSV text reaches the SQL unquoted. A
  number for a decimal field (`decimal_type`: money_type, rate_type) is that type, cast from its text as
  written: exact (validation refused one with more decimals than the type holds).
#}
{% macro adjustment_literal(value, type_class, decimal_type=none) %}
  {% set text = (value or '') | trim %}
  {% if type_class == 'number' and decimal_type %}
    {{ return('cast(' ~ regcalc.string_literal(text) ~ ' as ' ~ decimal_type ~ ')') }}
  {% elif type_class == 'number' %}
    {{ return('cast(' ~ (text | float) ~ ' as ' ~ regcalc.type_double() ~ ')') }}
  {% elif type_class == 'date' %}
    {{ return('cast(' ~ regcalc.string_literal(text) ~ ' as date)') }}
  {% elif type_class == 'boolean' %}
    {{ return('true' if text | lower == 'true' else 'false') }}
  {% endif %}
  {{ return(regcalc.string_literal(value)) }}
{% endmacro %}


{#
  The model that publishes a point's rows after its rules: `<the point's model>__adjusted`, the file
  holding `{{ apply_adjustments('<point>') }}` (python/regcalc/rules.py Point.adjusted_model says
  the same). adjustment_point_refs: every point's adjusted model (and with before=true the model it
  adjusts) as `ref()`s joined by ', ', for the `-- depends_on:` line of a model or test that reads
  every point: it runs at parse time, so a new point's models are dependencies at once.
#}
{% macro adjusted_model_name(point_name) %}
  {{ return(var('adjustment_points')[point_name].model ~ '__adjusted') }}
{% endmacro %}

{% macro entity_grain_points() %}
  {#- the points whose rows are the LCR components of an entity (key scenario, as_of_date, entity_id) -#}
  {% set names = [] %}
  {% for point_name, point in var('adjustment_points').items() %}
    {% if not point.key | reject('in', ['scenario', 'as_of_date', 'entity_id']) | list %}
      {% do names.append(point_name) %}
    {% endif %}
  {% endfor %}
  {{ return(names) }}
{% endmacro %}

{% macro adjustment_point_refs(before=false) %}
  {% set refs = [] %}
  {% for point_name, point in var('adjustment_points').items() %}
    {% do refs.append(ref(adjusted_model_name(point_name))) %}
    {% if before %}{% do refs.append(ref(point.model)) %}{% endif %}
  {% endfor %}
  {{ return(refs | join(', ')) }}
{% endmacro %}


{#
  The audit's branches: one per (point, approved rule of the point, action), with the point's adjusted
  model, the rule's number at its point (`n`, as apply_adjustments numbers the adj_<n>_ columns), the
  before / after columns of the action's field, whether the field is a number and the point's key
  columns without scenario and as_of_date (the audit's row_key). Read by fct_adjustment_audit.
#}
{% macro adjustment_audit_branches(rule_set) %}
  {% set branches = [] %}
  {% for point_name, point in var('adjustment_points').items() %}
    {% set fields = adjustment_point_fields(point_name) %}
    {% set key_columns = point.key | reject('in', ['scenario', 'as_of_date']) | list %}
    {% for rule in adjustment_point_rules(point_name, rule_set) %}
      {% set n = loop.index %}
      {% for action in rule.actions %}
        {% set before = 'adjusted.adj_' ~ n ~ '__' ~ action.field ~ '_before' %}
        {% set after = 'adjusted.adj_' ~ n ~ '__' ~ action.field ~ '_after' %}
        {% set numeric = fields[action.field] == 'number' %}
        {% do branches.append({'point': point_name, 'model': adjusted_model_name(point_name), 'n': n,
                                'rule_id': rule.rule_id, 'field': action.field, 'before': before,
                                'after': after, 'numeric': numeric, 'key_columns': key_columns}) %}
      {% endfor %}
    {% endfor %}
  {% endfor %}
  {{ return(branches) }}
{% endmacro %}

{#
  The checks of the audit test (tests/dbt/assert_adjustments_explained_by_audit.sql): one per point
  and number field an approved rule of the point changes, with the point's model before and after,
  whether that model has a scenario column, and the tolerance (0 for a decimal field).
#}
{% macro adjustment_audit_checks(rule_set) %}
  {% set checks = [] %}
  {% for point_name, point in var('adjustment_points').items() %}
    {% set fields = adjustment_point_fields(point_name) %}
    {% set types = adjustment_point_types(point_name) %}
    {% set touched = [] %}
    {% for rule in adjustment_point_rules(point_name, rule_set) %}
      {% for action in rule.actions if fields[action.field] == 'number' and action.field not in touched %}
        {% do touched.append(action.field) %}
      {% endfor %}
    {% endfor %}
    {% for field in touched %}
      {% do checks.append({'point': point_name, 'model': point.model, 'adjusted': adjusted_model_name(point_name), 'field': field,
                           'has_scenario': 'scenario' in adjustment_point_columns(point_name),
                           'tolerance': 0 if regcalc.decimal_type(types[field]) else 0.01}) %}
    {% endfor %}
  {% endfor %}
  {{ return(checks) }}
{% endmacro %}
