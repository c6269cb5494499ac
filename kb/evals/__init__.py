"""Evals: retrieval, answer, question-answer and lesson evals, their metrics and reports."""
