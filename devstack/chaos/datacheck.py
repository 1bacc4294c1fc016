"""The data check of a chaos run: every acknowledged record in the warehouse exactly once. Pure.

The writers keep a ledger of every record they created (its id, seq and content) and whether
the ingest function acknowledged it. The warehouse is read back in full. Then:

* **missing**: acknowledged, not in the warehouse. Must be zero: an acknowledged record is
  durable (Kafka acknowledged it) and the pipeline must not drop it.
* **duplicates**: ids found more than once in the warehouse. Must be zero (the upsert by key
  makes a redelivery harmless; this checks that it does).
* **corrupted**: in the warehouse with content other than what was sent (or than the data
  path's own transformation of it, which the caller folds into ``expected``).
* **unexpected**: ids in the warehouse that no writer created.
* **unacknowledged**: records the writers gave up on (they were told so, never told "ok");
  they may or may not have landed (``unacknowledged_landed``): neither is a loss.

Counts are backed by a content checksum: SHA-256 over the sorted lines of the acknowledged
records as sent, and the same over the warehouse rows of those ids. Equal checksums mean the
same records with the same content, independent of the counts' own bookkeeping.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from etlkit import wire

SAMPLE = 10  # ids shown per problem


@dataclass(frozen=True)
class DataCheck:
    created: int
    acknowledged: int
    unacknowledged: int
    unacknowledged_landed: int
    warehouse_rows: int
    missing: int
    duplicates: int
    corrupted: int
    unexpected: int
    checksum_acknowledged: str
    checksum_warehouse: str
    samples: Mapping[str, tuple[str, ...]]

    @property
    def ok(self) -> bool:
        return (self.missing == 0 and self.duplicates == 0 and self.corrupted == 0
                and self.unexpected == 0 and self.checksum_acknowledged == self.checksum_warehouse)


def canonical(content: Mapping[str, object]) -> str:
    """One line per record: sorted keys, no spaces, so equal content gives equal text."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def checksum(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in sorted(lines):
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def check(expected: Mapping[str, Mapping[str, object]], acknowledged: Iterable[str],
          rows: Sequence[tuple[str, Mapping[str, object]]]) -> DataCheck:
    """``expected``: every created record's id -> the content its warehouse row must have;
    ``acknowledged``: the ids the ingest function acknowledged; ``rows``: (id, content) of
    every warehouse row, as read back."""
    acked = set(acknowledged)
    counts = Counter(record_id for record_id, _ in rows)
    found = {record_id: content for record_id, content in rows}
    missing = sorted(acked - set(found))
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    unexpected = sorted(set(found) - set(expected))
    corrupted = sorted(i for i, content in found.items()
                       if i in expected and canonical(content) != canonical(expected[i]))
    unacked = set(expected) - acked
    return DataCheck(
        created=len(expected), acknowledged=len(acked), unacknowledged=len(unacked),
        unacknowledged_landed=len(unacked & set(found)), warehouse_rows=len(rows),
        missing=len(missing), duplicates=len(duplicates), corrupted=len(corrupted),
        unexpected=len(unexpected),
        checksum_acknowledged=checksum(canonical({"id": i, **expected[i]}) for i in acked),
        checksum_warehouse=checksum(canonical({"id": i, **content})
                                    for i, content in rows if i in acked),
        samples={name: tuple(ids[:SAMPLE]) for name, ids in (
            ("missing", missing), ("duplicates", duplicates), ("corrupted", corrupted),
            ("unexpected", unexpected)) if ids})


@dataclass(frozen=True)
class LetterCheck:
    """The dead letters against the bad records the writers had acknowledged.

    A letter is identified by its batch's ``etl-batch`` id and its place in the batch: a batch
    written again under the same id (a redelivered input) holds the same letters, which a consumer
    keyed on the id takes once (``copies`` counts them). Record by record, each acknowledged bad
    record must have exactly one letter (``missing``, ``doubled``), every letter a reason.
    """
    expected: int          # bad records acknowledged
    letters: int           # distinct letters on the dead-letter topic
    copies: int            # letters seen again under an id already seen
    missing: int
    doubled: int
    without_reason: int
    unexpected: int        # letters for no bad record (a good record dead-lettered)
    reasons: Mapping[str, int]
    samples: Mapping[str, tuple[str, ...]]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.doubled or self.without_reason or self.unexpected)


def check_letters(bad_acknowledged: Iterable[str],
                  letters: Sequence[tuple[tuple[str, int], Mapping[str, object]]]) -> LetterCheck:
    """``letters``: ((batch id, index), letter) of every letter read, copies included; a letter is
    ``{"step", "reason", "payload": {"id", ...}, ...}`` (functions' letters) or a Sensor's, whose
    payload is the failed event's body: the records of a batch body each count."""
    expected = set(bad_acknowledged)
    distinct: dict[tuple[str, int], Mapping[str, object]] = {}
    for identity, letter in letters:
        distinct.setdefault(identity, letter)
    per_id: Counter = Counter()
    unexpected, no_reason, reasons = [], 0, Counter()
    for letter in distinct.values():
        reason = str(letter.get("reason") or "")
        no_reason += not reason
        reasons[reason or "(none)"] += 1
        for record_id in _letter_ids(letter.get("payload")):
            per_id[record_id] += 1
            if record_id not in expected:
                unexpected.append(record_id)
    missing = sorted(expected - set(per_id))
    doubled = sorted(i for i, n in per_id.items() if n > 1)
    return LetterCheck(expected=len(expected), letters=len(distinct),
                       copies=len(letters) - len(distinct), missing=len(missing),
                       doubled=len(doubled), without_reason=no_reason, unexpected=len(unexpected),
                       reasons=dict(reasons.most_common()),
                       samples={name: tuple(ids[:SAMPLE]) for name, ids in (
                           ("missing", missing), ("doubled", doubled),
                           ("unexpected", sorted(unexpected))) if ids})


def _letter_ids(payload: object) -> list[str]:
    """The record ids a letter's payload holds: one record's, or a batch body's records'."""
    if isinstance(payload, Mapping):
        entries = wire.body_entries(payload)
        if entries is not None:
            return [str(e["value"].get("id")) for e in entries
                    if isinstance(e, Mapping) and isinstance(e.get("value"), Mapping)]
        return [str(payload.get("id"))]
    return ["(not a record)"]
