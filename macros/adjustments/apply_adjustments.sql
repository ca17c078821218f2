{#
  The adjustment model of one injection point: the point's upstream rows, every scenario, and
  each approved rule of the point applied in order (priority, then rule_id) as one CASE step per
  rule. Set-based: the whole rule set is one SELECT, no per-rule query. Output columns: the
  upstream model's documented columns (recomputed ones recomputed), `scenario`, `is_adjusted`,
  `adjustment_rule_ids`, and per rule `adj_<n>_hit` with `adj_<n>__<field>_before` / `_after` for the audit.

  A thin model file declares the point:   {{ apply_adjustments('deal') }}
#}
{% macro apply_adjustments(point_name) %}
  {% set point = var('adjustment_points')[point_name] %}
  {% set rule_set = load_adjustment_rules() %}
  {% set rules = adjustment_point_rules(point_name, rule_set) %}
  {% set upstream = ref(point.model) %}
  {% set columns = adjustment_point_columns(point_name) %}
  {% set fields = adjustment_point_fields(point_name) if rules else {} %}
  {% set has_scenario = 'scenario' in columns %}
  {% set data_columns = columns | reject('equalto', 'scenario') | list %}
-- depends_on: {{ ref('adjustment_rules') }}, {{ ref('adjustment_conditions') }}, {{ ref('adjustment_actions') }}
with upstream as (

    select * from {{ upstream }}

),

{% if not has_scenario %}
scenarios as (

    {% for scenario in rule_set.scenarios %}
    select {{ regcalc.string_literal(scenario) }} as scenario{% if not loop.last %} union all{% endif %}
    {% endfor %}

),

{% endif %}
step_0 as (

    select
        {% for column in data_columns %}upstream.{{ column }},
        {% endfor %}{{ 'scenarios.scenario' if not has_scenario else 'upstream.scenario' }},
        cast(null as {{ dbt.type_string() }}) as adjustment_rule_ids
    from upstream
    {% if not has_scenario %}cross join scenarios{% endif %}

){% for rule in rules %},

{% set n = loop.index %}
step_{{ n }}_match as (

    select
        step_{{ n - 1 }}.*,
        coalesce({{ adjustment_rule_condition(rule, fields, 'step_' ~ (n - 1)) }}, false) as adj_{{ n }}_hit
    from step_{{ n - 1 }}

),

step_{{ n }} as (

    -- {{ rule.rule_id }} ({{ rule.scenario }}, priority {{ rule.priority }})
    select
        {% for column in data_columns %}
        {% set action = rule.actions | selectattr('field', 'equalto', column) | first %}
        {% if action %}
        case when m.adj_{{ n }}_hit then {{ adjustment_action_sql(action, fields[column], 'm.' ~ column) }}
             else m.{{ column }} end as {{ column }},
        {% else %}
        m.{{ column }},
        {% endif %}
        {% endfor %}
        m.scenario,
        case when not m.adj_{{ n }}_hit then m.adjustment_rule_ids
             when m.adjustment_rule_ids is null then {{ regcalc.string_literal(rule.rule_id) }}
             else m.adjustment_rule_ids || {{ regcalc.string_literal(',' ~ rule.rule_id) }} end as adjustment_rule_ids,
        {% for previous in range(1, n + 1) %}
        m.adj_{{ previous }}_hit,
        {% endfor %}
        {% for earlier in rules[:n - 1] %}{% set e = loop.index %}{% for earlier_action in earlier.actions %}
        m.adj_{{ e }}__{{ earlier_action.field }}_before,
        m.adj_{{ e }}__{{ earlier_action.field }}_after,
        {% endfor %}{% endfor %}
        {% for action in rule.actions %}
        m.{{ action.field }} as adj_{{ n }}__{{ action.field }}_before,
        case when m.adj_{{ n }}_hit then {{ adjustment_action_sql(action, fields[action.field], 'm.' ~ action.field) }}
             else m.{{ action.field }} end as adj_{{ n }}__{{ action.field }}_after{% if not loop.last %},{% endif %}
        {% endfor %}
    from step_{{ n }}_match as m

){% endfor %},

final as (

    select
        {% for column in data_columns %}
        {% if column in point.get('recompute', {}) %}
        {{ point.recompute[column] }} as {{ column }},
        {% else %}
        step_{{ rules | length }}.{{ column }},
        {% endif %}
        {% endfor %}
        step_{{ rules | length }}.scenario,
        step_{{ rules | length }}.adjustment_rule_ids is not null as is_adjusted,
        step_{{ rules | length }}.adjustment_rule_ids
        {% for rule in rules %}{% set n = loop.index %},
        step_{{ rules | length }}.adj_{{ n }}_hit
        {% for action in rule.actions %},
        step_{{ rules | length }}.adj_{{ n }}__{{ action.field }}_before,
        step_{{ rules | length }}.adj_{{ n }}__{{ action.field }}_after
        {% endfor %}{% endfor %}
    from step_{{ rules | length }}

)

select * from final
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
{% macro adjustment_rule_condition(rule, fields, relation) %}
  {% set parts = [] %}
  {% if rule.scenario != 'base' %}
    {% do parts.append(relation ~ '.scenario = ' ~ regcalc.string_literal(rule.scenario)) %}
  {% endif %}
  {% do parts.append(relation ~ '.as_of_date >= ' ~ adjustment_literal(rule.effective_from, 'date')) %}
  {% if rule.expiry %}
    {% do parts.append(relation ~ '.as_of_date <= ' ~ adjustment_literal(rule.expiry, 'date')) %}
  {% endif %}
  {% for condition in rule.conditions %}
    {% do parts.append(adjustment_condition_sql(condition, fields[condition.field], relation ~ '.' ~ condition.field)) %}
  {% endfor %}
  {{ return('(' ~ parts | join(' and ') ~ ')') }}
{% endmacro %}


{% macro adjustment_condition_sql(condition, type_class, column) %}
  {% set op = condition.operator %}
  {% if op == 'is null' %}{{ return(column ~ ' is null') }}
  {% elif op == 'is not null' %}{{ return(column ~ ' is not null') }}
  {% elif op in ['in', 'not in'] %}
    {% set items = [] %}
    {% for item in condition.value.split('|') %}{% do items.append(adjustment_literal(item, type_class)) %}{% endfor %}
    {{ return(column ~ ' ' ~ op ~ ' (' ~ items | join(', ') ~ ')') }}
  {% elif op == 'between' %}
    {% set low, high = condition.value.split('|') %}
    {{ return(column ~ ' between ' ~ adjustment_literal(low, type_class) ~ ' and ' ~ adjustment_literal(high, type_class)) }}
  {% elif op == '!=' %}
    {{ return(column ~ ' <> ' ~ adjustment_literal(condition.value, type_class)) }}
  {% endif %}
  {{ return(column ~ ' ' ~ op ~ ' ' ~ adjustment_literal(condition.value, type_class)) }}
{% endmacro %}


{% macro adjustment_action_sql(action, type_class, column) %}
  {% if action.operation == 'multiply' %}
    {{ return(column ~ ' * ' ~ adjustment_literal(action.value, 'number')) }}
  {% elif action.operation == 'add' %}
    {{ return(column ~ ' + ' ~ adjustment_literal(action.value, 'number')) }}
  {% endif %}
  {{ return(adjustment_literal(action.value, type_class)) }}
{% endmacro %}


{#
  A typed SQL literal of a CSV value. Values were validated first; numbers are re-rendered from
  their parsed float and dates from their checked text, so no CSV text reaches the SQL unquoted.
#}
{% macro adjustment_literal(value, type_class) %}
  {% set text = (value or '') | trim %}
  {% if type_class == 'number' %}
    {{ return('cast(' ~ (text | float) ~ ' as ' ~ regcalc.type_double() ~ ')') }}
  {% elif type_class == 'date' %}
    {{ return('cast(' ~ regcalc.string_literal(text) ~ ' as date)') }}
  {% elif type_class == 'boolean' %}
    {{ return('true' if text | lower == 'true' else 'false') }}
  {% endif %}
  {{ return(regcalc.string_literal(value)) }}
{% endmacro %}
