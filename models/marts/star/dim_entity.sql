-- Legal entities with history (SCD type 2) from the dated snapshots of stg_lake__entities.
{{ star_scd2_dimension(
    source=ref('stg_lake__entities'),
    natural_key=['entity_id'],
    snapshot_date='as_of_date',
    tracked=['entity_name', 'country', 'reporting_currency'],
    key='entity_key',
) }}
