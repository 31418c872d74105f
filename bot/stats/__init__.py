"""Anonymous routing statistics: event rows, disclosure control and the managers' report (docs/statistics.md)."""
