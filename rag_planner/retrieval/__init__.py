"""
Retrieval: embedder, plan library, HNSW index, exact k-NN, cache, retriever.

The MiniLM embedder, the plan library, the HNSW index with its manifest and the
index build, the exact k-NN over a core set, the task cache, and the retriever
that puts them together (cache -> embed -> HNSW -> exact k-NN).
"""
