{#
  The adjustment rule set, read once per compiling model from the three seeds and checked.
  Returns {'rules': [rule, ...], 'scenarios': [...]} where each rule is a dict with its metadata,
  `status` (approved | unapproved | self_approved), `conditions` and `actions`. Raises a compiler
  error listing every problem, so a rule set with errors fails the build and changes no output.
  Offline compilation (var offline_compile, used for the Redshift check) and a run with
  var apply_adjustments = false (the unadjusted LCR) see an empty rule set.
#}
{% macro load_adjustment_rules() %}
  {% set empty = {'rules': [], 'scenarios': ['base']} %}
  {% if not execute or var('offline_compile', false) or not var('apply_adjustments', true) %}
    {{ return(empty) }}
  {% endif %}
  {% set tables = {} %}
  {% for seed in ['adjustment_rules', 'adjustment_conditions', 'adjustment_actions'] %}
    {% set relation = ref(seed) %}
    {% if load_relation(relation) is none %}
      {{ return(empty) }}
    {% endif %}
    {% set status = ', ' ~ adjustment_approval_status('seed') ~ ' as approval_status' if seed == 'adjustment_rules' else '' %}
    {% do tables.update({seed: run_query('select seed.*' ~ status ~ ' from ' ~ relation ~ ' as seed')}) %}
  {% endfor %}

  {% set problems = [] %}
  {% set by_id = {} %}
  {% set rules = [] %}
  {% for row in tables['adjustment_rules'].rows %}
    {% set rule = {
      'rule_id': row['rule_id'] | trim if row['rule_id'] is not none else '',
      'description': row['description'] or '',
      'injection_point': (row['injection_point'] or '') | trim,
      'scenario': (row['scenario'] or 'base') | trim,
      'effective_from': (row['effective_from'] or '') | trim,
      'expiry': (row['expiry'] or '') | trim,
      'priority': (row['priority'] or '0') | trim,
      'author': (row['author'] or '') | trim,
      'approver': (row['approver'] or '') | trim,
      'approved_at': (row['approved_at'] or '') | trim,
      'reference': row['reference'] or '',
      'status': row['approval_status'],
      'conditions': [],
      'actions': []
    } %}
    {% if rule.rule_id == '' %}
      {% do problems.append('adjustment_rules.csv: a rule has an empty rule_id') %}
    {% elif rule.rule_id in by_id %}
      {% do problems.append('adjustment_rules.csv rule ' ~ rule.rule_id ~ ': rule_id is used twice') %}
    {% else %}
      {% do by_id.update({rule.rule_id: rule}) %}
      {% do rules.append(rule) %}
    {% endif %}
  {% endfor %}
  {% for seed, kind, verb in [('adjustment_conditions', 'conditions', 'operator'),
                              ('adjustment_actions', 'actions', 'operation')] %}
    {% for row in tables[seed].rows %}
      {% set rule_id = (row['rule_id'] or '') | trim %}
      {% if rule_id not in by_id %}
        {% do problems.append(seed ~ '.csv rule ' ~ rule_id ~ ': no such rule_id in adjustment_rules.csv') %}
      {% else %}
        {% do by_id[rule_id][kind].append({
          'field': (row['field'] or '') | trim,
          verb: (row[verb] or '') | trim | lower,
          'value': row['value']
        }) %}
      {% endif %}
    {% endfor %}
  {% endfor %}

  {% for rule in rules %}
    {% do problems.extend(adjustment_rule_problems(rule)) %}
  {% endfor %}
  {% do problems.extend(adjustment_conflicts(rules)) %}
  {% if problems %}
    {% do exceptions.raise_compiler_error(
      'the adjustment rules have ' ~ problems | length ~ ' problem(s); nothing was adjusted. '
      ~ 'Fix the seeds (run `regcalc rules check` for file and line numbers):\n  ' ~ problems | join('\n  ')
    ) %}
  {% endif %}
  {% set scenarios = ['base'] %}
  {% for rule in rules | sort(attribute='scenario') if rule.status == 'approved' and rule.scenario not in scenarios %}
    {% do scenarios.append(rule.scenario) %}
  {% endfor %}
  {% set wanted = var('scenarios', none) %}
  {% if wanted is not none %}
    {% set scenarios = ['base'] + (scenarios | select('in', wanted) | reject('equalto', 'base') | list) %}
  {% endif %}
  {{ return({'rules': rules | sort(attribute='rule_id') | sort(attribute='priority_number') , 'scenarios': scenarios}) }}
{% endmacro %}


{#
  approved | unapproved | self_approved, the SQL of a rule row of `relation` (the seed
  adjustment_rules): only approved rules are applied (four eyes). The one definition in dbt: the
  rule set loaded above and dim_adjustment_rule use it; python/regcalc/rules.py approval_status says the
  same for `regcalc rules check` and recalc, and tests/test_adjustments.py proves they agree.
#}
{% macro adjustment_approval_status(relation) -%}
case
            when coalesce(trim({{ relation }}.approver), '') = '' or coalesce(trim({{ relation }}.approved_at), '') = ''
                then 'unapproved'
            when lower(trim({{ relation }}.approver)) = lower(trim({{ relation }}.author)) then 'self_approved'
            else 'approved'
        end
{%- endmacro %}
