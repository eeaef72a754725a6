"""What keeps one client from spending everyone's server: query limits, budgets, socket caps."""
