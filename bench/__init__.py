"""The benchmark harness: tenantflow against PostGraphile 4 and a raw-SQL ceiling (bench/run.sh)."""
