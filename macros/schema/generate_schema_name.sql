{#
  Where dbt builds a model or seed: dbt's own rule (the target schema, plus a custom schema if a
  node sets one), unless var `build_schema` names another schema for the whole invocation.
  `regcalc rules impact` builds the LCR without adjustment rules into `<schema>_unadjusted` this way,
  on the same target and connection as the marts it is compared with. The hooks keep the target
  schema (the run log of that build is in the target schema's regcalc_run_log).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- set build_schema = var('build_schema', none) -%}
  {%- if build_schema -%}
    {{ build_schema | trim }}
  {%- else -%}
    {{ default__generate_schema_name(custom_schema_name, node) }}
  {%- endif -%}
{%- endmacro %}
