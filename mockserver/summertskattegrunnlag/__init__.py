"""The Summert skattegrunnlag API v2 fake."""
