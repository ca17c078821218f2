-- Adjustment point `entity_category`: after aggregation to entity and LCR category.
{{ apply_adjustments('entity_category') }}
