"""The mirror in the layout fivetran/dbt_quickbooks reads: PostgreSQL views over raw_data."""
