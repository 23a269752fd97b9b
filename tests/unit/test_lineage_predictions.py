"""Predictions nodes of the lineage graph: labelled by the recorded file name, else by md5."""

from __future__ import annotations

from dslineage.core import graph as lg

MD5 = "0123456789abcdef0123456789abcdef"
PID = f"predictions:{MD5}"


def test_old_record_without_file_name_is_labelled_by_md5():
    """A queue record older than `predictions_file` still gives a node, named by its short md5."""
    g = lg._build([(PID, "predictions", "train", None, None, "2026-01-01T00:00:00Z")], [])
    assert g.nodes[PID]["label"] == f"predictions {MD5[:10]}" and g.nodes[PID]["md5"] == MD5
    assert "path" not in g.nodes[PID]


def test_a_named_use_names_the_node_whatever_the_row_order():
    """One file used by several records: the earliest record that names it gives the label."""
    rows = [
        (PID, "predictions", "train", None, "later.csv", "2026-01-03T00:00:00Z"),
        (PID, "predictions", "train", None, None, "2026-01-01T00:00:00Z"),
        (PID, "predictions", "train", None, "preds/first.csv", "2026-01-02T00:00:00Z"),
    ]
    for order in (rows, rows[::-1]):
        g = lg._build(order, [])
        assert g.nodes[PID]["label"] == "predictions preds/first.csv" and g.nodes[PID]["path"] == "preds/first.csv"
