"""Geometry of the Global Reference Mechanism on hand-made boxes."""
import pytest
import torch

from grmnet.modeling.references import absolute_position, reference_vectors, select_references

CAND = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
PROPS = torch.tensor([[0.0, 0.0, 10.0, 10.0],      # the candidate itself (highest score)
                      [20.0, 0.0, 30.0, 10.0],     # near, low score
                      [100.0, 100.0, 110.0, 110.0],  # far, high score
                      [0.0, 20.0, 20.0, 40.0]])    # medium distance, lowest score
SCORES = torch.tensor([0.99, 0.5, 0.9, 0.1])


def test_consistency_ranks_by_positive_probability_and_skips_self():
    refs, valid = select_references(CAND, PROPS, SCORES, k=2, mode="consistency")
    assert valid.all()
    assert torch.equal(refs[0], PROPS[[2, 1]])


def test_distance_ranks_by_centre_distance():
    refs, valid = select_references(CAND, PROPS, SCORES, k=2, mode="distance")
    assert torch.equal(refs[0], PROPS[[1, 3]])


def test_fewer_proposals_than_k_are_zero_padded():
    refs, valid = select_references(CAND, PROPS, SCORES, k=5)
    assert valid[0].tolist() == [True, True, True, False, False]
    assert torch.all(refs[0, 3:] == 0)
    vec = reference_vectors(CAND, refs, valid, dim=5)
    assert torch.all(vec[0, 3:] == 0)


def test_k_zero_disables_references():
    refs, valid = select_references(CAND, PROPS, SCORES, k=0)
    assert refs.shape == (1, 0, 4) and valid.shape == (1, 0)


def test_five_d_vector():
    refs = torch.tensor([[[20.0, 0.0, 30.0, 20.0]]])
    vec = reference_vectors(CAND, refs, torch.ones(1, 1, dtype=torch.bool), dim=5)
    # [dx_tl/w, dy_tl/h, dx_br/w, dy_br/h, area ratio]
    assert vec[0, 0].tolist() == pytest.approx([2.0, 0.0, 2.0, 1.0, 2.0])


def test_three_d_vector():
    refs = torch.tensor([[[20.0, 0.0, 30.0, 20.0]]])
    vec = reference_vectors(CAND, refs, torch.ones(1, 1, dtype=torch.bool), dim=3)
    # centre (25, 10) vs (5, 5): [20/10, 5/10, area ratio]
    assert vec[0, 0].tolist() == pytest.approx([2.0, 0.5, 2.0])


def test_absolute_position():
    pos = absolute_position(torch.tensor([[10.0, 20.0, 60.0, 120.0]]), width=100, height=200)
    assert pos[0].tolist() == pytest.approx([0.1, 0.1, 0.6, 0.6, 0.25])


def test_bad_mode_and_dim_raise():
    with pytest.raises(ValueError):
        select_references(CAND, PROPS, SCORES, 2, mode="nearest")
    with pytest.raises(ValueError):
        reference_vectors(CAND, torch.zeros(1, 1, 4), torch.ones(1, 1, dtype=torch.bool), dim=4)
