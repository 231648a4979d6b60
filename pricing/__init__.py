"""List prices shared by the program and preflight: the sourced price table and the pricer that reads it.

A neutral module: it imports only the machine catalog, so the program (node prices for the alert rules) and
preflight (cost, compare) both depend on it and neither depends on the other.
"""
