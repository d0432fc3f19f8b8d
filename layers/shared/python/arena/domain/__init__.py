"""Pure domain logic: no I/O, no clock reads (time is always passed in)."""
