"""Slices of a corpus by time and by class: which bin or class each document falls in.

One place decides the bins, so the report's charts (`labeler.views.charts`) and the API's
`TopicModel.topics_over_time()` / `topics_per_class()` count the same documents in the same
periods: a user comparing the report with a DataFrame sees the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeler.errors import LabelerError

NO_CLASS = "(none)"


@dataclass
class TimeBins:
    """Each document's bin (its start; NaT where the timestamp is missing or unreadable)."""

    bins: pd.Series  # per document, the start of its bin (Timestamp or number), NaN/NaT if none
    starts: list  # every bin start in order, empty bins included
    unit: str  # "day", "week", "month", "year", or "bin" for nr_bins / numeric timestamps
    missing: int  # documents without a usable timestamp
    distinct: int  # distinct usable timestamps (one alone is no time line)

    def label(self, start) -> str:
        """How a bin start is written in the report (dates as YYYY-MM-DD)."""
        return start.strftime("%Y-%m-%d") if isinstance(start, pd.Timestamp) else str(start)


def _frequency(span: pd.Timedelta) -> tuple[str, str]:
    """The report's period for a time span: enough bins to see change, few enough to read."""
    if span <= pd.Timedelta(days=92):
        return "D", "day"
    if span <= pd.Timedelta(days=3 * 365):
        return "W", "week"
    if span <= pd.Timedelta(days=25 * 365):
        return "M", "month"
    return "Y", "year"


def _parse(values, datetime_format: str | None) -> tuple[pd.Series, bool]:
    """Timestamps as tz-naive UTC datetimes, or as numbers when every value is numeric."""
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values)
    series = series.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return pd.to_numeric(series, errors="coerce"), True
    stamps = pd.to_datetime(series, utc=True, errors="coerce", format=datetime_format or "mixed")
    return stamps.dt.tz_localize(None), False


def time_bins(values, nr_bins: int | None = None, datetime_format: str | None = None) -> TimeBins:
    """Bin timestamps: by calendar period chosen from the span (the report's default), or into
    `nr_bins` equal-width bins named by their left edge (BERTopic's `nr_bins`).

    Numeric timestamps (years, epoch numbers) keep their own values unless `nr_bins` is given.
    """
    if nr_bins is not None and nr_bins < 1:
        raise LabelerError(f"nr_bins must be at least 1, not {nr_bins}")
    stamps, numeric = _parse(values, datetime_format)
    ok = stamps.notna()
    missing = int((~ok).sum())
    distinct = int(stamps[ok].nunique())
    empty = pd.Series([pd.NaT] * len(stamps), dtype="datetime64[ns]")
    if not ok.any():
        return TimeBins(empty, [], "bin", missing, distinct)
    if nr_bins is not None:
        cut = pd.cut(stamps[ok], bins=nr_bins)
        lefts = pd.Series([pd.NaT if not numeric else np.nan] * len(stamps), dtype=object)
        lefts[ok] = [interval.left for interval in cut]
        if not numeric:
            lefts = pd.to_datetime(lefts)
        starts = [interval.left for interval in cut.cat.categories]
        if not numeric:
            starts = [pd.Timestamp(s) for s in starts]
        return TimeBins(lefts, starts, "bin", missing, distinct)
    if numeric:
        starts = sorted(stamps[ok].unique().tolist())
        return TimeBins(stamps.where(ok), starts, "bin", missing, distinct)
    freq, unit = _frequency(stamps[ok].max() - stamps[ok].min())
    periods = stamps[ok].dt.to_period(freq)
    starts_of = periods.dt.start_time
    bins = empty.copy()
    bins[ok] = starts_of
    full = pd.period_range(periods.min(), periods.max(), freq=freq)
    return TimeBins(bins, [p.start_time for p in full], unit, missing, distinct)


def class_values(values) -> pd.Series:
    """Classes as strings; a missing class is its own class, "(none)"."""
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values)
    return series.reset_index(drop=True).astype("string").fillna(NO_CLASS).astype(object)
