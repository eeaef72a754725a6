"""What the server tells its operators: Prometheus metrics and the request log."""
