"""How models run inside a serving process: one thread per model, and the heap kept small."""
