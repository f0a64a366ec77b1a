"""Shared vocabulary of Mata Kota: config schema, settings, errors, logging, messages."""
