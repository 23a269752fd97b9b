"""Data-quality gates (`dslineage.quality`: check, drift, audit) and the report.

A mixin of `dslineage.Repo` (`dslineage/repo.py`); the methods are Repo's, typed `self: Repo`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dslineage.model_base import options
from dslineage.model_quality import AuditOptions, CheckOptions, DriftOptions

if TYPE_CHECKING:
    from dslineage.model_quality import AuditResult, CheckResult, DriftResult
    from dslineage.ops.report_export import Written
    from dslineage.ops.report_model import Report
    from dslineage.repo import Repo


class QualityMixin:
    """Quality gates and the report."""

    def check(
        self: Repo, ref: str, *, record: bool = True, against: str | None = None, fetch: bool = False
    ) -> CheckResult:
        """Run a dataset's rules from `.dslineage/checks.yaml` (bare NAME: the working file);
        drift rules compare with `against`, the rules' `baseline:`, else the last passing version.
        `fetch`: download a version missing from the cache instead of reading it from S3."""
        opts = options(CheckOptions, locals())
        from dslineage.core.remote import reading
        from dslineage.quality.check import check

        with reading(self, fetch=fetch):
            return check(self, ref, opts)

    def drift(
        self: Repo, a: str, b: str | None = None, *, against: str | None = None, fetch: bool = False
    ) -> DriftResult:
        """Drift statistics of label and numeric columns A → B (B defaults to the working file;
        bare NAME: the working file against its baseline, or `against`). `fetch`: download a
        version missing from the cache instead of reading it from S3."""
        opts = options(DriftOptions, locals())
        from dslineage.core.remote import reading
        from dslineage.quality.drift import drift

        with reading(self, fetch=fetch):
            return drift(self, a, b, opts)

    def audit(
        self: Repo,
        ref: str,
        *,
        against: str | None = None,
        on: list[str] | None = None,
        group: str | None = None,
        record: bool = True,
        min_group_rows: int = 10,
        examples: int = 10,
        fetch: bool = False,
    ) -> AuditResult:
        """Duplicates with conflicting labels, leakage, annotator agreement, imbalance, subgroups.

        `against` (leakage against another version), `on` (the content columns of duplicates),
        `group` (the subgroup column), `record` (store the result of a committed version),
        `min_group_rows` (smaller subgroups are not compared), `examples` (examples per finding),
        `fetch` (download a version missing from the cache instead of reading it from S3).
        """
        opts = options(AuditOptions, locals())
        from dslineage.core.remote import reading
        from dslineage.quality.audit import audit

        with reading(self, fetch=fetch):
            return audit(self, ref, opts)

    def report(self: Repo, names: list[str] | None = None, *, versions: str | None = None) -> Report:
        """The report's data model (`ops.report_model.Report`) of the named (default: every)
        dataset, comparing `versions` "A..B" (default: first..latest)."""
        from dslineage.ops.report import report

        return report(self, names or [], versions=versions)

    def report_write(
        self: Repo,
        names: list[str] | None = None,
        *,
        output: str = "report.html",
        versions: str | None = None,
        fmt: str = "html",
        chart: str | None = None,
    ) -> Written:
        """Write the self-contained HTML report (`fmt="html"`), its Vega-Lite specs (`"vega"`), its data
        model (`"json"`) or one chart (`chart`, as .svg/.png/.json by the suffix of `output`)."""
        from dslineage.ops.report import report
        from dslineage.ops.report_export import write

        return write(report(self, names or [], versions=versions), output, fmt=fmt, chart=chart)

    def report_vega(
        self: Repo, names: list[str] | None = None, *, versions: str | None = None, chart: str | None = None
    ) -> str:
        """The report's charts as Vega-Lite JSON (`{name: spec}`), or one chart's spec."""
        from dslineage.ops.report import report
        from dslineage.ops.report_export import vega

        return vega(report(self, names or [], versions=versions), chart)
