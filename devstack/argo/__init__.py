"""The local stand-in for Argo Events: runs the committed ``argo-events/`` manifests against the
embedded broker and the local gateway.

The real Argo Events (v1.9.11, ``devstack/realargo``) is the reference; this emulation is the size
of what we emit and refuses the rest at load (:func:`.yamlnode.unsupported` names file, field
and rule), so it never accepts what Argo would not. What we emit (``etlkit/workflow/render.py``
and its templates, ``etlkit.workflow.invocation``):

* EventSources: ``kafka`` (url, topic, ``jsonBody: true``, consumerGroup with groupName, oldest,
  rebalanceStrategy) and ``calendar`` (``interval``, or ``schedule`` with ``timezone: "UTC"``);
* Sensor dependencies: name, eventSourceName, eventName; no filters;
* triggers: ``http`` (POST, headers, timeout; a step's payload ``value`` / ``contextKey: id`` /
  ``dataKey: "@this"`` with ``useRawData`` at plain keys, a tick's one ``dataTemplate`` with
  ``dest: ""``), a ``kafka`` dlqTrigger (url, topic, requiredAcks; ``value`` / ``contextKey`` /
  ``dataKey`` (+ ``useRawData``) / ``dataTemplate`` parameters at plain keys), ``log`` (tests);
  ``conditions`` naming one dependency; retryStrategy, ``policy.status.allow``, atLeastOnce;
* template actions: ``{{ toJson .Input }}`` and ``{{ (now).UnixMilli }}``; no exprs (so no
  govaluate), no other sprig function.

Delivery as Argo's: one event per Kafka message (its ID ``genUniqueID``'s), one HTTP request per
event, one event in flight per trigger.

Pure modules (no I/O; time, randomness and sleeping are passed in): :mod:`.gjson` (paths),
:mod:`.gojson` / :mod:`.gotime` (Go's texts), :mod:`.gotemplate` (the two actions),
:mod:`.events` (event data), :mod:`.params` (payloads), :mod:`.retry`,
:mod:`.cron`. The runner modules do the I/O.
"""
