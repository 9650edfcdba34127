"""Export and file formats: every format is read back; failures are clear and lose nothing."""
import errno
import json
import os
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image

from grmnet.errors import ImageError
from sketchedit import atomic
from sketchedit.atomic import ExportError
from sketchedit.document import SketchDocument
from fakes import Instance
from sketchedit.export import export_document, kind_of_path, open_document, trace_mask
from sketchedit.images import load_sketch
from sketchedit.ora import load_ora

SVG = "{http://www.w3.org/2000/svg}"
INK = "{http://www.inkscape.org/namespaces/inkscape}"


@pytest.fixture
def doc():
    base = np.full((80, 120, 3), 255, np.uint8)
    base[10:20, 10:40] = 0
    base[50:70, 70:100] = 0
    base[40, 5:115] = 0  # a stroke that stays in the base
    masks = []
    for (y0, y1, x0, x1) in [(5, 25, 5, 45), (45, 75, 65, 105)]:
        m = np.zeros((80, 120), bool)
        m[y0:y1, x0:x1] = True
        masks.append(m)
    d = SketchDocument(base, path="scene.png")
    a, b = d.select_as_layers([Instance("sheep", 1, "sheep 1", masks[0], masks[0]),
                               Instance("car", 1, "car 1", masks[1], masks[1])])
    d.recolor([a], (255, 0, 0))
    d.fill([b], (0, 0, 255), 0.5)
    d.move([b], -3, 2)
    d.set_locked([b], True)
    return d


def test_flat_png_has_the_composite(doc, tmp_path):
    out = export_document(doc, tmp_path / "flat.png")
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(pixels, doc.composite())
    assert (pixels[10:20, 10:40] == (255, 0, 0)).all()


def test_ora_layout_and_round_trip(doc, tmp_path):
    path = tmp_path / "scene.ora"
    export_document(doc, path)
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"image/openraster"
        root = ET.fromstring(zf.read("stack.xml"))
        layers = root.findall("./stack/layer")
        assert [l.get("name") for l in layers] == ["car 1", "sheep 1", "Sketch"]  # top first
        assert (root.get("w"), root.get("h")) == ("120", "80")
        for name in ["mergedimage.png", "Thumbnails/thumbnail.png"] + [l.get("src") for l in layers]:
            zf.getinfo(name)
        thumb = Image.open(zf.open("Thumbnails/thumbnail.png"))
        assert max(thumb.size) <= 256
        merged = np.asarray(Image.open(zf.open("mergedimage.png")).convert("RGB"))
        assert np.array_equal(merged, doc.composite())
        car = layers[0]
        assert (int(car.get("x")), int(car.get("y"))) == doc.layers[1].position
    again = load_ora(path)
    assert [l.label for l in again.layers] == ["sheep 1", "car 1"]
    assert [l.category for l in again.layers] == ["sheep", "car"]
    assert again.layers[1].locked and again.layers[1].offset == (-3, 2) and again.layers[1].fill_color == (0, 0, 255)
    assert np.array_equal(again.composite(), doc.composite())
    assert np.array_equal(again.base, doc.base)
    # Layers re-opened from .ora are still editable, with fresh undo history.
    again.recolor([again.layers[0].uid], (0, 0, 0))
    assert (again.composite()[10:20, 10:40] == 0).all()
    new = again.select_as_layers([Instance("road", 1, "road 1", np.ones((80, 120), bool), np.ones((80, 120), bool))])
    assert new and new[0] not in (again.layers[0].uid, again.layers[1].uid)


def test_ora_from_another_editor_imports_layers(tmp_path):
    """A Krita/GIMP re-save drops our sidecar: layers come back as plain layers."""
    path = tmp_path / "krita.ora"
    bg = Image.new("RGBA", (40, 30), (255, 255, 255, 255))
    ink = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    ink.paste((200, 0, 0, 255), (2, 2, 8, 8))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        zf.writestr("stack.xml", '<image w="40" h="30"><stack>'
                                 '<layer name="dog 2" src="data/a.png" x="5" y="6"/>'
                                 '<layer name="Background" src="data/bg.png" x="0" y="0"/></stack></image>')
        for name, img in [("data/a.png", ink), ("data/bg.png", bg)]:
            import io
            buf = io.BytesIO()
            img.save(buf, "PNG")
            zf.writestr(name, buf.getvalue())
    d = open_document(path)
    assert [(l.category, l.index, l.label) for l in d.layers] == [("dog", 2, "dog 2")]
    assert tuple(d.composite()[10, 10]) == (200, 0, 0) and tuple(d.composite()[0, 0]) == (255, 255, 255)


def test_svg_has_one_inkscape_layer_per_instance(doc, tmp_path):
    path = export_document(doc, tmp_path / "scene.svg")
    root = ET.parse(path).getroot()
    groups = [g for g in root.iter(f"{SVG}g") if g.get(f"{INK}groupmode") == "layer"]
    labels = [g.get(f"{INK}label") for g in groups]
    assert labels == ["Paper", "Sketch", "sheep 1", "car 1"]
    sheep, car = groups[2], groups[3]
    sheep_paths = sheep.findall(f"{SVG}path")
    assert len(sheep_paths) == 1 and sheep_paths[0].get("fill") == "#ff0000"
    assert sheep_paths[0].get("d").startswith("M")
    fills = [p.get("fill") for p in car.findall(f"{SVG}path")]
    assert fills == ["#0000ff", "#000000"]  # region fill under the strokes
    # The traced outline covers the ink exactly: a 30x10 block, moved by nothing.
    xs = [float(v.split(",")[0]) for v in sheep_paths[0].get("d").replace("M", "").replace("Z", "").split(" L")]
    assert min(xs) == pytest.approx(10, abs=0.6) and max(xs) == pytest.approx(40, abs=0.6)


def test_trace_mask_keeps_holes_and_thin_lines():
    m = np.zeros((40, 40), bool)
    m[5:35, 5:35] = True
    m[15:25, 15:25] = False
    assert trace_mask(m).count("M") == 2
    line = np.zeros((10, 10), bool)
    line[5, 1:9] = True
    speck = np.zeros((10, 10), bool)
    speck[3, 3] = True
    assert trace_mask(line) and trace_mask(speck)
    assert trace_mask(np.zeros((5, 5), bool)) == ""


def test_psd_round_trips_layers(doc, tmp_path):
    from psd_tools import PSDImage

    path = export_document(doc, tmp_path / "scene.psd")
    psd = PSDImage.open(path)
    names = [layer.name for layer in psd]
    assert names == ["Sketch", "sheep 1", "car 1"]
    sheep = psd[1]
    assert (sheep.left, sheep.top) == doc.layers[0].position
    pixels = np.asarray(sheep.topil().convert("RGBA"))
    assert tuple(pixels[10 - sheep.top, 20 - sheep.left]) == (255, 0, 0, 255)
    merged = np.asarray(psd.composite().convert("RGB"))
    assert np.abs(merged.astype(int) - doc.composite()).max() <= 2


@pytest.mark.parametrize("name", ["layers.zip", "layers"])
def test_layered_png(doc, tmp_path, name):
    path = export_document(doc, tmp_path / name)
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            files = {n: zf.read(n) for n in zf.namelist()}
    else:
        files = {n: open(os.path.join(path, n), "rb").read() for n in os.listdir(path)}
    manifest = json.loads(files["manifest.json"])
    assert [l["label"] for l in manifest["layers"]] == ["sheep 1", "car 1"]
    import io
    canvas = Image.open(io.BytesIO(files[manifest["background"]])).convert("RGBA")
    for entry in manifest["layers"]:
        layer = Image.open(io.BytesIO(files[entry["file"]]))
        assert layer.mode == "RGBA" and layer.size == (120, 80)
        canvas.alpha_composite(layer)
    assert np.abs(np.asarray(canvas.convert("RGB")).astype(int) - doc.composite()).max() <= 1


def test_kind_of_path():
    assert kind_of_path("a.PNG") == "png" and kind_of_path("a.ora") == "ora" and kind_of_path("out") == "layers-folder"
    with pytest.raises(ExportError, match="xyz"):
        kind_of_path("a.xyz")


@pytest.mark.parametrize("name", ["flat.png", "s.ora", "s.svg", "s.psd", "l.zip", "folder", "full-folder"])
def test_permission_denied_keeps_the_old_file(doc, tmp_path, monkeypatch, name):
    target = tmp_path / name
    if name.endswith("folder"):
        target.mkdir()  # an empty folder may take a folder export; a non-empty one is refused
        if name == "full-folder":
            (target / "old.txt").write_text("old")
    else:
        target.write_bytes(b"old")

    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(atomic.os, "replace", denied)
    with pytest.raises(ExportError, match="not empty" if name == "full-folder" else "permission denied"):
        export_document(doc, target)
    if name == "full-folder":
        assert (target / "old.txt").read_text() == "old"
    elif name == "folder":
        assert target.is_dir() and not any(target.iterdir())
    else:
        assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == [name], "no temporary files left behind"


def test_disk_full_and_path_under_a_file(doc, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export_document(doc, blocker / "out.png")
    with pytest.raises(ExportError, match="does not exist"):
        export_document(doc, tmp_path / "missing" / "out.png")

    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(ExportError, match="disk is full"):
        export_document(doc, tmp_path / "out.ora")
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    assert not (tmp_path / "out.ora").exists()


# ----------------------------------------------------------------------- reading
@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK"])
def test_any_image_mode_opens_as_rgb(tmp_path, mode):
    img = Image.new("RGB", (30, 20), (255, 255, 255))
    img.paste((0, 0, 0), (5, 5, 15, 10))
    img = img.convert(mode) if mode != "I;16" else img.convert("L").convert("I;16")
    suffix = ".jpg" if mode == "CMYK" else ".png" if mode != "P" else ".bmp"
    path = tmp_path / f"s{suffix}"
    img.save(path)
    rgb, notice = load_sketch(path)
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8 and notice is None
    assert rgb[7, 10].max() < 80 and rgb[0, 0].min() > 200


def test_transparent_png_and_webp(tmp_path):
    img = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (2, 2, 5, 5))
    img.save(tmp_path / "t.png")
    img.save(tmp_path / "t.webp", lossless=True)
    for name in ["t.png", "t.webp"]:
        rgb, _ = load_sketch(tmp_path / name)
        assert tuple(rgb[0, 0]) == (255, 255, 255) and tuple(rgb[3, 3]) == (0, 0, 0)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(ImageError, match="notes.png"):
        load_sketch(bad)
    with pytest.raises(ImageError, match="no such file"):
        load_sketch(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="folder"):
        load_sketch(tmp_path)
    with pytest.raises(ImageError):
        open_document(tmp_path / "notes.ora")
    (tmp_path / "broken.ora").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ImageError, match="broken.ora"):
        open_document(tmp_path / "broken.ora")


def test_zero_size_image(tmp_path):
    path = tmp_path / "empty.png"
    # A syntactically valid PNG header claiming 0x0 pixels (PIL refuses to write one).
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    with pytest.raises(ImageError, match="empty.png"):
        load_sketch(path)
