"""Storage: the Chroma store and document registry, embeddings and their cache, checks and the
catalogue."""
