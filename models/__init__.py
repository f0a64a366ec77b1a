"""The ML model registry: which weights exist, where they come from, and how to resolve them."""
