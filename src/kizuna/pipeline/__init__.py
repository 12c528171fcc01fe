"""The refresh pipeline: runs the domains' refresh steps in data-flow order over one read of the hub."""
