-- Adjustment point `deal`: after classification and haircuts, before any aggregation.
{{ apply_adjustments('deal') }}
