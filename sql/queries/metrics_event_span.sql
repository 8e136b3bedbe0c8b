-- The first and last event time (Unix ns) in `events`: the span `siyu
-- metrics rebuild` walks, a month at a time. 0, 0 when there is none.
-- args:
SELECT min(time_ns), max(time_ns) FROM events
