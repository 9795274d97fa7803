"""The packaged MiniLM model run by ONNX Runtime instead of torch (HORIZON_EMBED_BACKEND=onnx or
onnx-int8): the graph is exported locally from the package's own weights, once, and cached.

`export` builds and caches the graph (needs torch, onnx and onnxruntime); `embedder` runs it
(needs only onnxruntime and tokenizers once the graph is cached).
"""
