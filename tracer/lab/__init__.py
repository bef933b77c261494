"""Running reference scripts many times: the run cache, seeds, statistics and curves."""
