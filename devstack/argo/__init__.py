"""The local stand-in for Argo Events: runs the committed ``argo-events/`` manifests against the
embedded broker and the local gateway.

Pure modules (no I/O; time, randomness and sleeping are passed in): :mod:`.gjson` (paths),
:mod:`.gojson` / :mod:`.gotime` (Go's texts), :mod:`.gotemplate` (dataTemplate subset),
:mod:`.govaluate` (exprs), :mod:`.events` (event data), :mod:`.params` (payloads),
:mod:`.filters`, :mod:`.retry`, :mod:`.cron`. The runner modules do the I/O.
"""
