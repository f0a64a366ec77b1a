"""Measurements of the analytics against real labelled data in the assets directory."""
