"""Retrieval: the question understood once, dense and BM25 search over the derived index, fusion."""
