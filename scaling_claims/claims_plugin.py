"""pytest plugin: claim records and the report (being built; see issue 'Claims I')."""
