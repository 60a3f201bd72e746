"""Who is calling: API tokens, the admin token written at first start, webhook signatures."""
