"""Speed benchmarks (pytest-benchmark): run once each, as plain tests with assertions, in the normal
test run (``--benchmark-disable``); timed, with the timing goals checked, by ``make bench``."""
