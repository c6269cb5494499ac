"""Lessons as records: the lessons, causes, recommendations and success factors the documents
state, extracted at ingest as exact spans of their chunks, stored in Chroma beside the chunks,
grouped into themes across cities and languages, and listed, filtered and cited.

Modules, one job each: ``records`` (the data passed between stages), ``extract`` (a document's
chunks to records), ``write`` (records into Chroma under the document's version), ``themes``
(clusters of the stored lesson vectors, their labels and stable ids), ``listing`` (the public
:func:`lessons` that the CLI, the app and the API call), ``ask`` (questions asking for lessons),
``evals`` (precision, recall and clustering quality against ``evals/lessons``).
"""
