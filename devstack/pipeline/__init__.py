"""A workflow run on the embedded stack: the committed manifests drive it, the books check it.

:mod:`.selection` picks a workflow's manifests and topics, :mod:`.run` drives the run
(:class:`~.run.WorkflowRun`), :mod:`.kafka_edge` reads topics and group offsets, :mod:`.books`,
:mod:`.offsets` and :mod:`.summary` are pure, :mod:`.sqldb` seeds and reads tables.
"""
