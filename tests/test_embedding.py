from __future__ import annotations

import numpy as np
import pytest

from assistant.embedding import Embedder, ModelLoadError, load_embedder


def test_an_unknown_model_is_a_clear_start_up_error() -> None:
    with pytest.raises(ModelLoadError, match="never downloaded"):
        Embedder("sentence-transformers/some-hub-model")


@pytest.mark.slow
def test_the_packaged_model_embeds_offline_into_unit_vectors() -> None:
    embedder = load_embedder("all-MiniLM-L6-v2")
    assert load_embedder("all-MiniLM-L6-v2") is embedder  # loaded once per process
    vectors = embedder.encode(
        ["Talks resume in Madrid.", "Trade talks will be held in Spain.", "A paella recipe."]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert embedder.encode([]).shape == (0, 384)
