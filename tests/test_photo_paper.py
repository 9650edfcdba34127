"""Photographed or scanned paper sketches: uneven light and grey paper are evened out to white on the way in,
while drawings whose paper is already white (every digital sketch) pass through untouched."""
import cv2
import numpy as np
from PIL import Image

from grmnet.imaging import even_out_paper, ink_mask, load_image, to_grey


def clean_sketch() -> np.ndarray:
    """A white-paper line drawing, grey uint8 [300, 400]."""
    grey = np.full((300, 400), 255, np.uint8)
    cv2.circle(grey, (100, 100), 50, 0, 3)
    cv2.rectangle(grey, (200, 150), (350, 260), 0, 2)
    cv2.line(grey, (20, 280), (380, 220), 0, 2)
    return grey


def photographed(grey: np.ndarray, paper=0.8, ink=0.45, darkest_light=0.55, seed=0) -> np.ndarray:
    """The drawing as a phone photo of paper: tinted grey paper, a light fall-off, grey lines, noise. RGB."""
    h, w = grey.shape
    yy, xx = np.mgrid[0:h, 0:w]
    light = darkest_light + (1 - darkest_light) * (1 - np.hypot(xx, yy) / np.hypot(w, h))
    value = 255 * (paper - (paper - ink) * (1 - grey / 255.0)) * light
    value += np.random.default_rng(seed).normal(0, 3, grey.shape)
    return np.clip(value[..., None] * np.array([1.0, 0.97, 0.9]), 0, 255).astype(np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_white_paper_drawings_are_returned_untouched_even_with_large_fills():
    grey = clean_sketch()
    grey[20:120, 250:390] = 0                          # a big solid fill (hair, a shadow) must stay black
    out, changed = even_out_paper(grey)
    assert out is grey and not changed
    rgb = np.stack([grey] * 3, -1)
    assert even_out_paper(rgb)[0] is rgb


def test_coloured_artwork_is_left_as_it_is():
    rgb = np.stack([clean_sketch()] * 3, -1)
    rgb[(rgb == 255).all(-1)] = (150, 200, 250)          # a sky-blue page: not paper to even out
    out, changed = even_out_paper(rgb)
    assert out is rgb and not changed


def test_a_photographed_sketch_gets_white_paper_and_its_lines_back():
    clean = clean_sketch()
    photo = photographed(clean)
    assert iou(ink_mask(photo.mean(-1).astype(np.uint8)), ink_mask(clean)) < 0.5   # as taken: paper reads as ink
    out, changed = even_out_paper(photo)
    assert changed and out.shape == photo.shape
    grey = to_grey(out)
    assert np.median(grey) >= 240
    assert iou(ink_mask(grey), ink_mask(clean)) >= 0.8


def test_faint_pencil_lines_are_darkened_to_ink():
    clean = clean_sketch()
    pencil = photographed(clean, paper=0.85, ink=0.7, darkest_light=0.8)
    assert iou(ink_mask(pencil.mean(-1).astype(np.uint8)), ink_mask(clean)) < 0.3    # as taken: too light
    grey = to_grey(pencil)                              # arrays go through the same evening-out as files
    assert iou(ink_mask(grey), ink_mask(clean)) >= 0.7


def test_loading_a_photo_says_what_was_done(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(photographed(clean_sketch())).save(path, quality=85)
    rgb, notice = load_image(path)
    assert "photographed or scanned" in notice
    assert np.median(rgb) >= 240
    clean_path = tmp_path / "clean.png"
    Image.fromarray(clean_sketch()).save(clean_path)
    assert load_image(clean_path)[1] is None
