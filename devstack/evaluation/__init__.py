"""The evaluation of the elastic scheduler: simulated policies on seeded production curves.

Run ``python -m devstack.evaluation --help`` (or ``faas-etl simulate``). Writes a table and PNG
plots in the spirit of the paper's figures. Never shipped in an image.
"""
