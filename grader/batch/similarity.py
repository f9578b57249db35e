"""Architecture similarity across a class: identical or near-identical executed layer sequences.

A model's signature is its executed layers as (type, output shape without the batch, parameters):
layer names are left out, so a renamed copy matches. Groups are listed for a human to review,
never penalized: small MNIST models converge on similar designs on their own.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class SimilarityGroup:
    students: tuple[str, ...]  # sorted
    identical: bool  # every member has the same fingerprint
    similarity: float  # the lowest similarity ratio among the pairs that joined the group (1.0 when identical)


def signature(report: dict) -> tuple[str, ...]:
    """One token per executed layer: type, output shape after the batch dimension, parameters."""
    tokens = []
    for layer in report.get("layers") or ():
        shape = layer.get("output_shape")
        shape_text = "x".join(str(d) for d in shape[1:]) if shape else "-"
        tokens.append(f"{layer.get('type')}[{shape_text}]:{layer.get('parameters')}")
    return tuple(tokens)


def fingerprint(report: dict) -> str | None:
    """A short hash of the layer signature; None when the report has no layers (an error before inspection)."""
    tokens = signature(report)
    if not tokens:
        return None
    return hashlib.sha256(json.dumps(tokens).encode()).hexdigest()[:12]


def similar_groups(reports: list[dict], threshold: float = 0.9) -> list[SimilarityGroup]:
    """Students whose architectures are identical, or whose layer sequences match with ratio >= threshold."""
    by_print: dict[str, list[str]] = {}
    tokens: dict[str, tuple[str, ...]] = {}
    for report in reports:
        fp = fingerprint(report)
        if fp is not None:
            by_print.setdefault(fp, []).append(report["student"])
            tokens.setdefault(fp, signature(report))
    prints = sorted(by_print)
    parent = {fp: fp for fp in prints}
    lowest = {fp: 1.0 for fp in prints}  # per root: the lowest ratio that merged into it

    def root(fp: str) -> str:
        while parent[fp] != fp:
            parent[fp] = parent[parent[fp]]
            fp = parent[fp]
        return fp

    for i, a in enumerate(prints):
        for b in prints[i + 1:]:
            matcher = difflib.SequenceMatcher(None, tokens[a], tokens[b], autojunk=False)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio >= threshold:
                ra, rb = root(a), root(b)
                low = min(lowest[ra], lowest[rb], ratio)
                if ra != rb:
                    parent[rb] = ra
                lowest[ra] = low
    members: dict[str, list[str]] = {}
    for fp in prints:
        members.setdefault(root(fp), []).append(fp)
    groups = []
    for r, fps in members.items():
        students = tuple(sorted(s for fp in fps for s in by_print[fp]))
        if len(students) > 1:
            identical = len(fps) == 1
            groups.append(SimilarityGroup(students, identical, 1.0 if identical else round(lowest[r], 4)))
    return sorted(groups, key=lambda g: (not g.identical, -g.similarity, g.students))
