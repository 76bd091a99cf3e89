"""Fleet harvest: many stores (accounts) harvested into one PostgreSQL sink."""
