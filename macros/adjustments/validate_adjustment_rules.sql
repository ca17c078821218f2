{#
  Checks of one rule. Each problem names the rule, the column and what is wrong. The same checks
  run in Python (`regcalc rules check`, python/regcalc/rules.py) with file and line numbers; both
  read their operators, operations, type classes and value formats from var adjustment_grammar.
#}

{# The fields a point exposes, name -> number | string | date | boolean, from its model's YAML. #}
{% macro adjustment_point_fields(point_name) %}
  {% set fields = {} %}
  {% for name, data_type in adjustment_point_types(point_name).items() %}
    {% do fields.update({name: adjustment_type_class(data_type)}) %}
  {% endfor %}
  {% if execute and not fields %}
    {% set point = var('adjustment_points')[point_name] %}
    {% do exceptions.raise_compiler_error(
      'adjustment point ' ~ point_name ~ ': model ' ~ point.model ~ ' has no documented columns with data_type') %}
  {% endif %}
  {{ return(fields) }}
{% endmacro %}

{#
  The data_type of each documented column of a point's model, as dbt rendered it (e.g. the money
  type of var money_type), lower case; '' where the YAML gives none. Values of rules are cast to it.
#}
{% macro adjustment_point_types(point_name) %}
  {% set point = var('adjustment_points')[point_name] %}
  {% set types = {} %}
  {% if not execute %}{{ return(types) }}{% endif %}  {# the graph is known only at execution #}
  {% for node in graph.nodes.values() if node.resource_type == 'model' and node.name == point.model %}
    {% for column in node.columns.values() %}
      {% do types.update({column.name: (column.data_type or '') | lower}) %}
    {% endfor %}
  {% endfor %}
  {{ return(types) }}
{% endmacro %}

{# number | date | boolean | string: the first of adjustment_grammar.type_classes matching data_type. #}
{% macro adjustment_type_class(data_type) %}
  {% set data_type = (data_type or 'string') | lower %}
  {% for name, pattern in var('adjustment_grammar').type_classes.items() %}
    {% if modules.re.match(pattern, data_type) is not none %}{{ return(name) }}{% endif %}
  {% endfor %}
  {{ return('string') }}
{% endmacro %}

{# A finite double: '1e400' has the form but overflows to infinity, which is no SQL literal. #}
{% macro adjustment_is_number(value) %}
  {% set text = (value or '') | trim %}
  {% if modules.re.match(var('adjustment_grammar').formats.number, text) is none %}{{ return(false) }}{% endif %}
  {% set number = text | float %}
  {{ return(number - number == 0) }}
{% endmacro %}

{% macro adjustment_is_date(value) %}
  {% set text = (value or '') | trim %}
  {% if modules.re.match(var('adjustment_grammar').formats.date, text) is none %}{{ return(false) }}{% endif %}
  {% set year, month, day = text[0:4] | int, text[5:7] | int, text[8:10] | int %}
  {% set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 %}
  {% set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] %}
  {{ return(1 <= month <= 12 and 1 <= day <= month_days[month - 1]) }}
{% endmacro %}

{# Does `value` fit a field of `type_class` (and of `data_type`, if a decimal)? (for =, !=, <, ..., override) #}
{% macro adjustment_value_problem(value, type_class, data_type=none) %}
  {% set text = (value or '') | trim %}
  {% if type_class == 'number' and not adjustment_is_number(text) %}
    {{ return("'" ~ text ~ "' is not a number") }}
  {% elif type_class == 'number' and adjustment_decimal_problem(text, data_type) %}
    {{ return("'" ~ text ~ "' " ~ adjustment_decimal_problem(text, data_type)) }}
  {% elif type_class == 'date' and not adjustment_is_date(text) %}
    {{ return("'" ~ text ~ "' is not a date (yyyy-mm-dd)") }}
  {% elif type_class == 'boolean' and text | lower not in ['true', 'false'] %}
    {{ return("'" ~ text ~ "' is not true or false") }}
  {% endif %}
  {{ return('') }}
{% endmacro %}

{#
  Why the number `text` does not fit the decimal `data_type` exactly ('' if it does, or if the type is
  not a decimal): a rule's value is cast to its field's type, which must not round it. The same words
  as python/regcalc/decimals.py (DecimalType.problem).
#}
{% macro adjustment_decimal_problem(text, data_type) %}
  {% set decimal = regcalc.decimal_precision_scale(data_type) %}
  {% set number = modules.re.match('^-?([0-9]+)(\\.([0-9]+))?([eE]([-+]?[0-9]+))?$', text) %}
  {% if decimal is none or number is none %}{{ return('') }}{% endif %}
  {% set precision, scale = decimal %}
  {% set digits = number.group(1) ~ (number.group(3) or '') %}
  {#- the decimal point sits after `point` of `digits`; leading zeros moved it, trailing ones do not -#}
  {% set significant = digits.lstrip('0') %}
  {% set point = number.group(1) | length + (number.group(5) or '0') | int - (digits | length - significant | length) %}
  {% set significant = significant.rstrip('0') %}
  {% set sql_type = 'decimal(' ~ precision ~ ',' ~ scale ~ ')' %}
  {% if significant and significant | length - point > scale %}
    {{ return('has more than ' ~ scale ~ ' decimals (' ~ sql_type ~ ')') }}
  {% elif significant and point > precision - scale %}
    {{ return('has more than ' ~ (precision - scale) ~ ' integer digits (' ~ sql_type ~ ')') }}
  {% endif %}
  {{ return('') }}
{% endmacro %}

{% macro adjustment_rule_problems(rule) %}
  {% set grammar = var('adjustment_grammar') %}
  {% set problems = [] %}
  {% set where = 'adjustment_rules.csv rule ' ~ rule.rule_id %}
  {% set points = var('adjustment_points') %}
  {% if rule.injection_point not in points %}
    {% do problems.append(where ~ ": column injection_point: '" ~ rule.injection_point
      ~ "' is not a declared point (" ~ points.keys() | list | join(', ') ~ ")") %}
    {{ return(problems) }}
  {% endif %}
  {% set fields = adjustment_point_fields(rule.injection_point) %}
  {% set types = adjustment_point_types(rule.injection_point) %}
  {% set key = points[rule.injection_point].key %}
  {% set derived = points[rule.injection_point].get('recompute', {}) %}
  {% for column in ['effective_from'] + (['expiry'] if rule.expiry else []) + (['approved_at'] if rule.approved_at else []) %}
    {% if not adjustment_is_date(rule[column]) %}
      {% do problems.append(where ~ ': column ' ~ column ~ ": '" ~ rule[column] ~ "' is not a date (yyyy-mm-dd)") %}
    {% endif %}
  {% endfor %}
  {% if rule.expiry and adjustment_is_date(rule.expiry) and adjustment_is_date(rule.effective_from)
        and rule.expiry < rule.effective_from %}
    {% do problems.append(where ~ ': column expiry: ' ~ rule.expiry ~ ' is before effective_from ' ~ rule.effective_from) %}
  {% endif %}
  {% if modules.re.match(grammar.formats.integer, rule.priority) is none %}
    {% do problems.append(where ~ ": column priority: '" ~ rule.priority ~ "' is not an integer") %}
    {% do rule.update({'priority_number': 0}) %}
  {% else %}
    {% do rule.update({'priority_number': rule.priority | int}) %}
  {% endif %}
  {% if modules.re.match(grammar.formats.name, rule.scenario) is none %}
    {% do problems.append(where ~ ": column scenario: '" ~ rule.scenario ~ "' must be a name (letters, digits, _)") %}
  {% endif %}
  {% if not rule.actions %}
    {% do problems.append(where ~ ': has no action in adjustment_actions.csv') %}
  {% endif %}

  {% for condition in rule.conditions %}
    {% set at = 'adjustment_conditions.csv rule ' ~ rule.rule_id ~ ' field ' ~ condition.field %}
    {% if condition.field not in fields %}
      {% do problems.append(at ~ ": column field: '" ~ condition.field ~ "' is not a column of point "
        ~ rule.injection_point ~ ' (' ~ fields.keys() | list | join(', ') ~ ')') %}
    {% elif condition.operator not in grammar.operators %}
      {% do problems.append(at ~ ": column operator: '" ~ condition.operator ~ "' is not one of " ~ grammar.operators | join(', ')) %}
    {% else %}
      {% set type_class = fields[condition.field] %}
      {% if condition.operator in grammar.text_operators and type_class != 'string' %}
        {% do problems.append(at ~ ': column operator: ' ~ condition.operator ~ ' needs a text field; ' ~ condition.field ~ ' is a ' ~ type_class) %}
      {% elif condition.operator in grammar.ordered_operators and type_class not in ['number', 'date'] %}
        {% do problems.append(at ~ ': column operator: ' ~ condition.operator ~ ' needs a number or date field; '
          ~ condition.field ~ ' is a ' ~ type_class) %}
      {% elif condition.operator in grammar.null_operators %}
        {% if (condition.value or '') | trim %}
          {% do problems.append(at ~ ': column value: ' ~ condition.operator ~ ' takes no value') %}
        {% endif %}
      {% else %}
        {% set items = (condition.value or '').split(grammar.list_separator) if condition.operator in grammar.list_operators else [condition.value] %}
        {% if condition.operator == 'between' and items | length != 2 %}
          {% do problems.append(at ~ ": column value: between needs 'low|high'") %}
        {% endif %}
        {% for item in items %}
          {% set problem = adjustment_value_problem(item, type_class, types[condition.field]) %}
          {% if problem %}{% do problems.append(at ~ ': column value: ' ~ problem) %}{% endif %}
        {% endfor %}
      {% endif %}
    {% endif %}
  {% endfor %}

  {% set touched = [] %}
  {% for action in rule.actions %}
    {% set at = 'adjustment_actions.csv rule ' ~ rule.rule_id ~ ' field ' ~ action.field %}
    {% if action.field not in fields %}
      {% do problems.append(at ~ ": column field: '" ~ action.field ~ "' is not a column of point "
        ~ rule.injection_point ~ ' (' ~ fields.keys() | list | join(', ') ~ ')') %}
    {% elif action.field in key or action.field in ['as_of_date', 'scenario'] %}
      {% do problems.append(at ~ ': column field: ' ~ action.field ~ ' is part of the key of point ' ~ rule.injection_point ~ ' and cannot be changed') %}
    {% elif action.field in derived %}
      {% do problems.append(at ~ ': column field: ' ~ action.field ~ ' is recomputed at point ' ~ rule.injection_point
        ~ ' as ' ~ derived[action.field] ~ '; adjust its inputs instead') %}
    {% elif action.operation not in grammar.operations %}
      {% do problems.append(at ~ ": column operation: '" ~ action.operation ~ "' is not one of " ~ grammar.operations | join(', ')) %}
    {% elif action.operation in grammar.arithmetic_operations and fields[action.field] != 'number' %}
      {% do problems.append(at ~ ': column operation: ' ~ action.operation ~ ' needs a number field; ' ~ action.field ~ ' is a ' ~ fields[action.field]) %}
    {% else %}
      {% set problem = adjustment_value_problem(action.value, 'number' if action.operation in grammar.arithmetic_operations else fields[action.field], types[action.field]) %}
      {% if problem %}{% do problems.append(at ~ ': column value: ' ~ problem) %}{% endif %}
    {% endif %}
    {% if action.field in touched %}
      {% do problems.append(at ~ ': the rule changes this field twice; use one action') %}
    {% endif %}
    {% do touched.append(action.field) %}
  {% endfor %}
  {{ return(problems) }}
{% endmacro %}

{#
  Two approved overrides of the same field at the same point and priority that apply in the same
  scenario would make the result depend on rule ids alone: refuse them. Base rules also run in every
  scenario, so a base override conflicts with any scenario's; priorities compare as numbers.
#}
{% macro adjustment_conflicts(rules) %}
  {% set slots = {} %}
  {% set problems = [] %}
  {% for rule in rules if rule.status == 'approved' %}
    {% for action in rule.actions if action.operation == 'override' %}
      {% set slot = [rule.injection_point, action.field, rule.priority_number] | join('/') %}
      {% for other in slots.get(slot, []) if other.scenario in [rule.scenario, 'base'] or rule.scenario == 'base' %}
        {% do problems.append('adjustment_actions.csv rule ' ~ rule.rule_id ~ ' field ' ~ action.field
          ~ ': overrides the same field as rule ' ~ other.rule_id ~ ' at the same point, scenario and priority '
          ~ rule.priority_number ~ '; give one of them another priority') %}
      {% endfor %}
      {% do slots.update({slot: slots.get(slot, []) + [rule]}) %}
    {% endfor %}
  {% endfor %}
  {{ return(problems) }}
{% endmacro %}
