-- One row per calendar day (vars star_date_start / star_date_end override the range).
{{ star_date_dimension(start_date='2020-01-01', end_date='2035-12-31', key='date_key') }}
