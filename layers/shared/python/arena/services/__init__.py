"""Use cases: each combines the store, the pure domain and the adapters for one thing a person wants done."""
