"""Coverage planning and blueprint sizing: where the city's cameras should stand and what they cost to run."""
