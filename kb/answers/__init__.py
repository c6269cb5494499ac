"""Answers: the ask pipeline on top of retrieval: abstention, passages, sentences, comparisons,
wording, the LLM path."""
