"""Starts and supervises Mata Kota's processes on one machine; the command line lives here too."""
