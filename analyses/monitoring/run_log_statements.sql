{#
  The statements of the run-monitoring on-run-end hooks (macros/monitoring/run_log.sql) for a sample
  of results. Hooks are not compiled by `dbt compile`; this analysis is, so `make redshift-check`
  parses the hooks' SQL as Redshift SQL: the DDL, the count query and the INSERT. Sample rows: a
  table with rows in and out, a view (not counted), a failing test, and a name with a quote.
#}
{%- set counted = {
  'model.regcalc.fct_lcr': ref('fct_lcr') | string,
  'model.regcalc.int_lcr_components__adjusted': ref('int_lcr_components__adjusted') | string,
  'seed.regcalc.param_lcr_caps': ref('param_lcr_caps') | string,
} -%}
{%- set sample_rows = [
  {'node_unique_id': 'model.regcalc.fct_lcr', 'node_name': 'fct_lcr', 'resource_type': 'model',
   'materialization': 'table', 'status': 'success', 'execution_seconds': 2.5, 'failures': none,
   'rows_out': 12, 'rows_in': 16},
  {'node_unique_id': 'model.regcalc.fct_deal_liquidity', 'node_name': 'fct_deal_liquidity',
   'resource_type': 'model', 'materialization': 'view', 'status': 'success', 'execution_seconds': 0.4,
   'failures': none, 'rows_out': none, 'rows_in': none},
  {'node_unique_id': "test.regcalc.keys_preserved_o'brien", 'node_name': "keys_preserved_o'brien",
   'resource_type': 'test', 'materialization': 'test', 'status': 'fail', 'execution_seconds': 1.0,
   'failures': 3, 'rows_out': none, 'rows_in': none},
] -%}
{{ create_regcalc_run_log() }};
{{ regcalc_run_log_count_query(counted) }};
{{ regcalc_run_log_insert(sample_rows) }}
