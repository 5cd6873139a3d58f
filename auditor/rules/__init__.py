"""Built-in rules: one module per rule, each exposing `RULE`, registered in pyproject.toml."""
