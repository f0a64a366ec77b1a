"""The HTTP API of Mata Kota (FastAPI): health, cameras, incidents and their evidence."""
