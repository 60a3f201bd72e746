"""PostgreSQL: models, repositories, migrations, engine and sessions."""
