"""Data files shipped with the package (tokenizer, classifier weights)."""
