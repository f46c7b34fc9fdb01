"""What every stage shares and no stage owns: ``jsonio`` (values made JSON-ready, atomic file
writes). Standard library only, so that any stage may import it."""
