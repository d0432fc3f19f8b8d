"""Analytics use cases: an event's performance (live, or its post-event snapshot), the dashboard, participation
trends, volume analysis, comparisons, the price table, the snapshot written at completion and the live metrics
pushed on the admin topic. Metric definitions: arena/domain/analytics.py."""
