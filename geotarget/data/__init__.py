"""Built-in data files (see data/ in the source tree for the scripts that build them)."""
