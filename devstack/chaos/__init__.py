"""The availability harness (issue 7): steady writes and reads while the stack's parts fail.

``faas-etl chaos`` / ``make chaos`` (:mod:`.cli`); the run itself in :mod:`.harness`; the
figures (availability = 1 - X/Y, outages, recovery) in :mod:`.measure`, the data check in
:mod:`.datacheck`.
"""
