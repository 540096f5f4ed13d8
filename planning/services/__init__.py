"""Planning's write services, one module per concept: ``movements`` (library, imports, audit) and ``plans``."""
