-- Counterparties with history (SCD type 2) from the dated snapshots of stg_lake__counterparties.
{{ star_scd2_dimension(
    source=ref('stg_lake__counterparties'),
    natural_key=['counterparty_id'],
    snapshot_date='as_of_date',
    tracked=['counterparty_name', 'counterparty_type', 'country'],
    key='counterparty_key',
) }}
