-- The server clock, which stamps metrics_inputs and computations alike.
-- args:
SELECT now()
