{#
  The statements of the run-monitoring on-run-end hooks (macros/monitoring/run_log.sql) for a sample
  of results. Hooks are not compiled by `dbt compile`; this analysis is, so `make redshift-check`
  parses the hooks' SQL as Redshift SQL. Sample rows: a table with counted rows in and out, a view
  (not counted), a failing test, and a name with a quote.
#}
{%- set sample_rows = [
  {'node_unique_id': 'model.regcalc.fct_lcr', 'node_name': 'fct_lcr', 'resource_type': 'model',
   'materialization': 'table', 'status': 'success', 'execution_seconds': 2.5, 'failures': none,
   'rows_out_relation': ref('fct_lcr') | string,
   'rows_in_relations': [ref('int_lcr_components__adjusted') | string, ref('param_lcr_caps') | string]},
  {'node_unique_id': 'model.regcalc.fct_deal_liquidity', 'node_name': 'fct_deal_liquidity',
   'resource_type': 'model', 'materialization': 'view', 'status': 'success', 'execution_seconds': 0.4,
   'failures': none, 'rows_out_relation': none, 'rows_in_relations': none},
  {'node_unique_id': "test.regcalc.keys_preserved_o'brien", 'node_name': "keys_preserved_o'brien",
   'resource_type': 'test', 'materialization': 'test', 'status': 'fail', 'execution_seconds': 1.0,
   'failures': 3, 'rows_out_relation': none, 'rows_in_relations': none},
] -%}
{{ create_regcalc_run_log() }};
{{ regcalc_run_log_insert(sample_rows) }}
