"""pytest plugin: options and sweep fixtures (being built; see issue 'Training engine')."""
