"""The synthetic world: people derived on demand from (seed, index), and curated personas."""

DEFAULT_SIZE = 5000  # the generated crowd beside the personas (`--population`)
