"""state.py without a warehouse: the seq ranges a checkpoint applies."""

from __future__ import annotations

from dbt_lambda_sync.state import seq_ranges


def test_seq_ranges_compress_consecutive_runs() -> None:
    assert seq_ranges([]) == []
    assert seq_ranges([5]) == [(5, 5)]
    assert seq_ranges([3, 1, 2, 7, 8, 10]) == [(1, 3), (7, 8), (10, 10)]
    assert seq_ranges([4, 4, 5]) == [(4, 5)]  # a row confirmed twice (a retried batch)


def test_seq_ranges_of_whole_batches_are_few() -> None:
    # 100 batches of 100 confirmed, one rejected row in every tenth batch
    seqs = [s for s in range(1, 10_001) if not (s % 1000 == 50)]
    assert len(seq_ranges(seqs)) == 11
