"""Operations: one module per command, each a function over a `Repo` returning plain data."""
