-- Template LIQ1 as disclosed: per scenario, entity and calendar quarter, every row's simple average of
-- the daily observations of fct_liq1_entity_day (DIS85: "simple averages of daily observations over the
-- previous quarter"), with the number of observations. Row 23 is the average of the daily ratios, so it
-- need not equal row 21 / row 22. Averages are exact decimals rounded HALF_UP to the money scale.
with daily as (

    select * from {{ ref('fct_liq1_entity_day') }}

),

quartered as (

    select
        daily.*,
        cast(extract(year from daily.as_of_date) as int) as reporting_year,
        cast(extract(quarter from daily.as_of_date) as int) as reporting_quarter
    from daily

),

averaged as (

    select
        quartered.scenario,
        quartered.entity_id,
        quartered.reporting_year,
        quartered.reporting_quarter,
        quartered.reporting_currency,
        quartered.parameter_set,
        quartered.liq1_row,
        quartered.parent_row,
        quartered.section,
        quartered.row_label,
        quartered.unweighted_reported,
        count(*) as observation_count,
        min(quartered.as_of_date) as first_as_of_date,
        max(quartered.as_of_date) as last_as_of_date,
        {{ money('sum(quartered.unweighted_value) / count(quartered.unweighted_value)') }} as unweighted_value,
        {{ money('sum(quartered.weighted_value) / count(quartered.weighted_value)') }} as weighted_value,
        {{ money('sum(quartered.component_adjustment) / count(quartered.component_adjustment)') }}
            as component_adjustment,
        max(quartered.run_id) as last_run_id
    from quartered
    group by
        quartered.scenario,
        quartered.entity_id,
        quartered.reporting_year,
        quartered.reporting_quarter,
        quartered.reporting_currency,
        quartered.parameter_set,
        quartered.liq1_row,
        quartered.parent_row,
        quartered.section,
        quartered.row_label,
        quartered.unweighted_reported

),

final as (

    select
        averaged.scenario,
        averaged.entity_id,
        {{ dbt.concat(['cast(averaged.reporting_year as ' ~ dbt.type_string() ~ ')', "'Q'",
                       'cast(averaged.reporting_quarter as ' ~ dbt.type_string() ~ ')']) }} as reporting_period,
        averaged.reporting_year,
        averaged.reporting_quarter,
        averaged.reporting_currency,
        averaged.parameter_set,
        averaged.liq1_row,
        averaged.parent_row,
        averaged.section,
        averaged.row_label,
        averaged.unweighted_reported,
        averaged.observation_count,
        averaged.first_as_of_date,
        averaged.last_as_of_date,
        averaged.unweighted_value,
        averaged.weighted_value,
        averaged.component_adjustment,
        averaged.last_run_id
    from averaged

)

select * from final
