"""etlkit: the library every function of the bundle is built with.

`stack.yml` copies this folder into each function's build context (``configuration.copy``), so
it lands at ``function/etlkit/`` next to the handler and a handler imports it relatively
(``from .etlkit.steps import run_step_on_events``). Two rules follow:

* inside etlkit, imports between its own modules are relative (``from .x import y``);
* pure modules never import confluent_kafka, requests, kubernetes or a web server; only the
  modules named as I/O edges do, so the logic runs and is tested with no broker.
"""
