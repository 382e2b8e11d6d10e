"""The reader: a transformer that reads a question with a few texts and finds the answer span.

Takes a question and texts (the passages holding the cheap ranker's best sentences);
gives, per text, the best span's character offsets, its score and a no-answer score.

- ``reading``: :class:`TransformerReader`, batched (concurrent questions share one forward
  pass) and loaded once per process by :func:`load_reader`;
- ``compiled``: the same weights on ONNX Runtime, exported once per machine into a cache
  folder (faster on CPU, the same logits);
- ``files``: the small committed weights (what training changed over the packaged encoder),
  laid over the base; ``card``: their file names, model card and the start-up error for a
  file that is missing or does not fit (without loading torch);
- ``calibration``: the reader's scores with the cheap evidence turned into a confidence
  that is right as often as it says, and the refusal threshold;
- ``examples`` and ``training``: ``assistant train-reader``, from SQuAD-format JSON.

May import the articles and index stages' value types and nothing above the answers stage.
"""
