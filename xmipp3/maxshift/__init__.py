"""Movie maxshift core: motion metrics, rules and automatic thresholds
(numpy only), the per-movie table, plots, and the streaming glue that the
protocols, viewer and tools share."""
