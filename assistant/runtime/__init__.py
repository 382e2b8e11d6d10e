"""How models run in a serving process: one thread for every model pass, the heap kept small."""
