"""One owner per outside dependency, and the runtime and switch seams operations call."""
