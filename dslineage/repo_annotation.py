"""The annotation loop: annotators' votes reconciled (consensus, annotators), review queues ranked
with a model's predictions, and a fixed model's metrics per label version (eval).

A mixin of `dslineage.Repo` (`dslineage/repo.py`); the methods are Repo's, typed `self: Repo`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dslineage.model_base import options
from dslineage.model_quality import ConsensusOptions, EvalOptions, ReviewOptions

if TYPE_CHECKING:
    from dslineage.model_quality import EvalRecord
    from dslineage.ops.annotators import AnnotatorsResult
    from dslineage.ops.consensus import ConsensusResult
    from dslineage.ops.evaluate import EvalResult
    from dslineage.ops.queues import QueueDetail, QueueSummary
    from dslineage.ops.review import ReviewResult
    from dslineage.repo import Repo


class AnnotationMixin:
    """The annotation loop: consensus, annotators, review queues, eval."""

    def consensus(
        self: Repo,
        name: str,
        *,
        votes: str,
        method: str = "majority",
        column: str | None = None,
        min_agreement: float | None = None,
        min_votes: int | None = None,
        by: str | None = None,
        reason: str | None = None,
        commit: bool = True,
        queue: str | None = None,
        fmt: str = "auto",
        key_field: str | None = None,
    ) -> ConsensusResult:
        """Reconcile annotators' votes (a long CSV/parquet/JSON Lines file, or a Label Studio export
        with `fmt="label-studio"`) with crowd-kit: rows whose consensus differs from their label
        become one relabel batch, rows below `min_agreement`/`min_votes` a review queue, and
        every vote is recorded."""
        opts = options(ConsensusOptions, locals())
        from dslineage.ops.consensus import consensus

        return consensus(self, name, opts)

    def annotators(self: Repo, name: str, *, since: str | None = None) -> AnnotatorsResult:
        """Per-annotator votes, rounds, agreement with the consensus and skill, and Krippendorff's
        alpha over the recorded votes (rounds whose batch was reverted are left out)."""
        from dslineage.ops.annotators import annotators

        return annotators(self, name, since=since)

    def annotator_rounds_left_out(self: Repo, name: str, *, since: str | None = None) -> int:
        """How many consensus rounds `annotators` leaves out because their batch was reverted."""
        from dslineage.ops.annotators import rounds

        return len(rounds(self, name, since)[1])

    def review(
        self: Repo,
        ref: str,
        *,
        predictions: str,
        method: str = "confident-learning",
        top: int | None = None,
        unlabeled: bool = False,
        group: str | None = None,
        column: str | None = None,
        output: str | None = None,
    ) -> ReviewResult:
        """Rank a version's rows for review with a model's predictions (cleanlab's confident
        learning, or margin / entropy / least-confidence); record the queue in the journal."""
        opts = options(ReviewOptions, locals())
        from dslineage.ops.review import review

        return review(self, ref, opts)

    def queues(self: Repo, name: str | None = None) -> list[QueueSummary]:
        """Recorded review queues (of one dataset or all), oldest first."""
        from dslineage.ops.queues import queues

        return queues(self, name)

    def queue(self: Repo, ref: str, *, limit: int = 20) -> QueueDetail:
        """One review queue (id or unique prefix) with how many rows were reviewed, confirmed and changed."""
        from dslineage.ops.queues import queue

        return queue(self, ref, limit=limit)

    def eval(
        self: Repo,
        ref: str,
        *,
        predictions: str,
        versions: str | None = None,
        group: str | None = None,
        classes: list[str] | None = None,
        column: str | None = None,
        record: bool = True,
        fetch: bool = False,
    ) -> EvalResult:
        """A fixed model's metrics (accuracy, per-class P/R/F1, ECE, subgroup error, flips) under
        each selected label version; each version's result is stored. `fetch`: download versions
        missing from the cache instead of reading them from S3."""
        opts = options(EvalOptions, locals())
        from dslineage.core.remote import reading
        from dslineage.ops.evaluate import evaluate

        with reading(self, fetch=fetch):
            return evaluate(self, ref, opts)

    def eval_results(self: Repo, name: str) -> list[EvalRecord]:
        """Stored `eval` results of a dataset (one record per version and predictions file), oldest first."""
        from dslineage.ops.evaluate import results

        return results(self, name)
