"""The synthetic world: people derived on demand from (seed, index), and curated personas."""
