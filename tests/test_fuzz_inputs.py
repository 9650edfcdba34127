"""Hostile inputs, generated here (no binaries in the repository): crafted and mutated images, OpenRaster
files, weights configs and expressions. Each must either work or be refused with the product's own
one-line error (GRMNetError), never another exception, a crash or a big allocation. Under a minute."""
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

import crafted as C
from grmnet.errors import ExpressionError, GRMNetError, ImageError, WeightsError
from grmnet.imaging import MAX_PIXELS, is_inverted, load_image, to_grey
from sketchedit.export import open_document
from sketchedit.ora import load_ora, save_ora

RNG_SEED = 12


class Tally:
    """Counts cases and anything that escaped as an unexpected exception (a 'traceback')."""

    def __init__(self):
        self.cases, self.refused, self.tracebacks = 0, 0, []

    def run(self, name: str, fn, *args, expected=(GRMNetError,)):
        self.cases += 1
        try:
            return fn(*args)
        except expected as exc:
            assert str(exc) and "\n" not in str(exc).strip(), f"{name}: not a one-line message: {exc!r}"
            self.refused += 1
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            self.tracebacks.append(f"{name}: {exc.__class__.__name__}: {exc}")
        return None

    def check(self, what: str) -> None:
        print(f"{what}: {self.cases} hostile cases, {self.refused} refused with a message, "
              f"{len(self.tracebacks)} tracebacks")
        assert not self.tracebacks, self.tracebacks[:5]


def write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def mutations(data: bytes, count: int, seed: int):
    """Copies of ``data`` with a few bytes flipped, cut short or duplicated."""
    rng = np.random.default_rng(seed)
    for n in range(count):
        buf = bytearray(data)
        kind = n % 3
        if kind == 0:
            for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 8))):
                buf[pos] = int(rng.integers(0, 256))
        elif kind == 1:
            buf = buf[:int(rng.integers(1, len(buf)))]
        else:
            start = int(rng.integers(0, len(buf)))
            buf = buf[:start] + buf[start:start + int(rng.integers(1, 64))] * 3 + buf[start:]
        yield bytes(buf)


def sample_images() -> dict[str, bytes]:
    img = Image.new("RGB", (48, 32), "white")
    img.paste((0, 0, 0), (5, 5, 30, 9))
    out = {}
    for fmt, mode in (("PNG", "RGBA"), ("JPEG", "RGB"), ("BMP", "RGB"), ("GIF", "P"), ("WEBP", "RGB"),
                      ("TIFF", "L")):
        buf = io.BytesIO()
        img.convert(mode).save(buf, fmt)
        out[fmt.lower()] = buf.getvalue()
    return out


# -------------------------------------------------------------------------------------------- images
def test_crafted_images_are_refused_before_decoding(tmp_path):
    tally = Tally()
    cases = {
        "30000x30000.png": C.header_only_png(30000, 30000, 0),        # 900 MP: over the pixel limit
        "65535x65535.png": C.header_only_png(65535, 65535),
        "20000x20000_rgba.png": C.header_only_png(20000, 20000),      # 400 MP, 1.6 GB decoded: over the bytes
        "0x0.png": C.header_only_png(0, 0),
        "1x1000000.png": C.header_only_png(1, 1_000_000),
        "truncated.png": C.blank_png(300, 300, 2, rows=10),
        "garbage.png": b"\x89PNG\r\n\x1a\n" + os.urandom(200),
        "text.jpg": b"\xff\xd8 definitely not a jpeg",
        "empty.png": b"",
    }
    for name, data in cases.items():
        result = tally.run(name, load_image, write(tmp_path, name, data))
        assert result is None or name == "truncated.png", f"{name} was opened"
    tally.run("folder", load_image, str(tmp_path))
    tally.run("missing", load_image, str(tmp_path / "missing.png"))
    tally.run("device", load_image, "/dev/zero")  # would never end or fill memory if read
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    tally.run("fifo", load_image, str(fifo))  # would block forever if opened
    assert tally.refused >= tally.cases - 1
    tally.check("crafted images")


def test_mutated_images_open_or_are_refused(tmp_path):
    tally = Tally()
    for fmt, data in sample_images().items():
        for n, mutant in enumerate(mutations(data, 40, RNG_SEED + len(fmt))):
            path = write(tmp_path, f"m{n}.{fmt}", mutant)
            for reader in (load_image, to_grey):
                result = tally.run(f"{fmt} mutant {n}", reader, path)
                if result is not None and reader is load_image:
                    rgb, _ = result
                    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    tally.check("mutated images")


def test_the_pixel_limit_is_checked_from_the_header(tmp_path):
    path = write(tmp_path, "big.png", C.header_only_png(20001, 20000, 0))  # just over MAX_PIXELS, grey
    assert 20001 * 20000 > MAX_PIXELS
    with pytest.raises(ImageError, match="too large"):
        load_image(path)


# ------------------------------------------------------------------------------ normalisation
def test_inverted_and_transparent_drawings_become_dark_ink_on_light(tmp_path):
    drawing = np.full((120, 160), 255, np.uint8)
    drawing[30:34, 20:140] = 0
    drawing[60:100, 70:74] = 0
    Image.fromarray(255 - drawing).save(tmp_path / "inverted.png")           # white lines on black
    rgb, notice = load_image(tmp_path / "inverted.png")
    assert np.array_equal(rgb[..., 0], drawing) and "inverted" in notice
    assert np.array_equal(to_grey(255 - drawing), drawing), "arrays sent to the model are normalised too"
    light_ink = np.zeros((120, 160, 4), np.uint8)
    light_ink[drawing == 0] = (255, 255, 255, 255)                            # white ink, transparent paper
    Image.fromarray(light_ink).save(tmp_path / "light.png")
    assert np.array_equal(load_image(tmp_path / "light.png")[0][..., 0], drawing)
    dark_ink = np.zeros((120, 160, 4), np.uint8)
    dark_ink[drawing == 0] = (0, 0, 0, 255)                                   # black ink, transparent paper
    Image.fromarray(dark_ink).save(tmp_path / "dark.png")
    rgb, notice = load_image(tmp_path / "dark.png")
    assert np.array_equal(rgb[..., 0], drawing) and notice is None


def test_dark_frames_and_fills_are_not_mistaken_for_inversion():
    framed = np.full((100, 100), 255, np.uint8)
    framed[:6], framed[-6:], framed[:, :6], framed[:, -6:] = 0, 0, 0, 0       # a black frame
    assert not is_inverted(framed)
    filled = np.full((100, 100), 255, np.uint8)
    filled[10:90, 10:90] = 0                                                  # mostly dark, white border
    assert not is_inverted(filled)
    assert not is_inverted(np.full((2, 2), 0, np.uint8)), "too small to tell"


# ------------------------------------------------------------------------------------ OpenRaster
def hostile_oras() -> dict[str, bytes]:
    layer = C.small_png(np.zeros((8, 10, 4), np.uint8))
    bad_layers = [
        ("not an object", "x"), ("uid text", C.our_layer(uid="1")), ("uid bool", C.our_layer(uid=True)),
        ("uid huge", C.our_layer(uid=10 ** 12)), ("short origin", C.our_layer(origin=[3])),
        ("long origin", C.our_layer(origin=[1, 2, 3])), ("origin text", C.our_layer(origin=["a", "b"])),
        ("origin null", C.our_layer(origin=None)), ("origin far", C.our_layer(origin=[10 ** 9, 0])),
        ("offset dict", C.our_layer(offset={"x": 1})), ("colour 300", C.our_layer(stroke_color=[300, 0, 0])),
        ("colour short", C.our_layer(fill_color=[1, 2])), ("opacity text", C.our_layer(fill_opacity="x")),
        ("opacity 2", C.our_layer(fill_opacity=2.0)), ("visible text", C.our_layer(visible="yes")),
        ("empty label", C.our_layer(label="")), ("long label", C.our_layer(label="x" * 5000)),
        ("category list", C.our_layer(category=["cat"])), ("index negative", C.our_layer(index=-1)),
        ("score nan", C.our_layer(score=float("nan"))), ("missing uid", {k: v for k, v in C.our_layer().items()
                                                                       if k != "uid"}),
    ]
    cases = {f"document.json {name}": C.our_ora({"layers": [record]}) for name, record in bad_layers}
    cases.update({
        "document.json null": C.our_ora("null"), "document.json list": C.our_ora("[]"),
        "document.json text": C.our_ora('"text"'), "document.json broken": C.our_ora("{"),
        "document.json layers null": C.our_ora({"layers": None}),
        "document.json layers object": C.our_ora({"layers": {"uid": 1}}),
        "document.json two uid 1": C.our_ora({"layers": [C.our_layer(), C.our_layer()]}),
        "document.json 5000 layers": C.our_ora({"layers": [C.our_layer(uid=n + 1) for n in range(5000)]}),
        "stack.xml null": C.ora_bytes({"stack.xml": "null"}),
        "stack.xml list": C.ora_bytes({"stack.xml": "[]"}),
        "stack.xml not image": C.ora_bytes({"stack.xml": "<stack/>"}),
        "stack.xml w text": C.ora_bytes({"stack.xml": C.stack_xml("wide", 30)}),
        "stack.xml w float": C.ora_bytes({"stack.xml": C.stack_xml("1e9", 30)}),
        "stack.xml negative": C.ora_bytes({"stack.xml": C.stack_xml(-40, 30)}),
        "stack.xml 32768x32768": C.ora_bytes({"stack.xml": C.stack_xml(32768, 32768)}),
        "stack.xml billion laughs": C.ora_bytes({"stack.xml": (
            '<?xml version="1.0"?><!DOCTYPE image [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi"))
            + ']><image w="10" h="10">&i;</image>')}),
        "stack.xml 2 MB": C.ora_bytes({"stack.xml": C.stack_xml(extra="<!--" + "x" * 2_000_000 + "-->")}),
        "stack.xml missing src": C.ora_bytes({"stack.xml": C.stack_xml(layers=(("data/none.png", 0, 0),))}),
        "stack.xml x nan": C.ora_bytes({"stack.xml": C.stack_xml(layers=(("data/base.png", "nan", 0),)),
                                        "data/base.png": layer}),
        "stack.xml x 1e309": C.ora_bytes({"stack.xml": C.stack_xml(layers=(("data/base.png", "1e309", 0),)),
                                          "data/base.png": layer}),
        "no stack.xml": C.ora_bytes({"data/base.png": layer}),
        "layer 20000x20000 header": C.our_ora(layer_png=C.header_only_png(20000, 20000)),
        "layer 100000x1 header": C.our_ora(layer_png=C.header_only_png(100000, 1)),
        "layer not png": C.our_ora(layer_png=b"not a png at all"),
        "layer bigger than canvas": C.our_ora(layer_png=C.small_png(np.zeros((60, 60, 4), np.uint8))),
        "foreign 20000x20000 layer": C.ora_bytes({"stack.xml": C.stack_xml(100, 100),
                                                  "data/base.png": C.header_only_png(20000, 20000)}),
        "foreign 5 canvas-size layers": C.ora_bytes({
            "stack.xml": C.stack_xml(4000, 4000, layers=[(f"data/l{n}.png", 0, 0) for n in range(5)]),
            **{f"data/l{n}.png": C.header_only_png(4000, 4000) for n in range(5)}}),
        "not a zip": b"PK\x03\x04 truncated",
    })
    return cases


def test_crafted_ora_files_are_refused_with_a_message(tmp_path):
    tally = Tally()
    for name, data in hostile_oras().items():
        path = write(tmp_path, "crafted.ora", data)
        doc = tally.run(name, load_ora, path)
        assert doc is None, f"{name} was opened"
    tally.check("crafted ORA files")


def test_mutated_ora_files_open_or_are_refused(tmp_path):
    from sketchedit.document import SketchDocument

    base = np.full((30, 40, 3), 255, np.uint8)
    base[10:12, 5:35] = 0
    save_ora(SketchDocument(base), tmp_path / "good.ora")
    good = (tmp_path / "good.ora").read_bytes()
    tally = Tally()
    for n, mutant in enumerate(mutations(good, 150, RNG_SEED)):
        path = write(tmp_path, "m.ora", mutant)
        tally.run(f"ORA mutant {n}", open_document, path)
    tally.check("mutated ORA files")


# ------------------------------------------------------------------------ configs and expressions
def test_weights_configs_of_any_type_are_checked_field_by_field(tmp_path):
    """config.json files as a user may have edited them, read the way the app reads them."""
    from grmnet.config import GRMNetConfig

    defaults = json.loads(GRMNetConfig().to_json())
    hostile_values = ["384", -384, 0, 1e9, None, [], {}, "abc", True, [[1, "a"]], float("nan"), "ten"]
    path = tmp_path / "config.json"
    tally = Tally()

    def load(text: str):
        path.write_text(text)
        return GRMNetConfig.load(path)

    for field in [f for f in defaults if f != "training"]:
        for value in hostile_values:
            tally.run(f"{field}={value!r}", load, json.dumps({**defaults, field: value}), expected=(WeightsError,))
    for text in ("null", "[]", '"x"', '{"training": 5}', '{"unknown_field": 1}', "{", "", "\x00" * 10):
        tally.run(f"config {text!r}", load, text, expected=(WeightsError,))
    tally.check("weights configs")


def test_any_expression_is_read_or_refused_with_a_message():
    from grmnet.text import normalize_expression, tokenize

    rng = np.random.default_rng(RNG_SEED)
    alphabet = list("abcdefghij the cat sheep two ,.;!?'\"-") + ["é", "thé", "\x1b[31m", "🐱", "\u200b", "\x00",
                                                                "\n", "\t", "Ⅻ", "ß", "İ", "ﬁ", "\ud800"]
    tally = Tally()
    for n in range(400):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 30))))
        tally.run(f"expression {n}", lambda t: tokenize(normalize_expression(t)), text,
                  expected=(ExpressionError, GRMNetError))
    tally.run("huge expression", lambda t: tokenize(normalize_expression(t)), "cat " * 100_000,
              expected=(ExpressionError, GRMNetError))
    tally.check("expressions")


# ------------------------------------------------------------------------------- command lines
def one_line_error(capsys, main, argv) -> str:
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code not in (0, None), (argv, err)
    assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    return err


def test_bad_command_lines_get_one_line_and_a_non_zero_exit(tmp_path, capsys):
    from grmnet import cli as grmnet_cli
    from sketchedit import cli as app_cli

    existing = tmp_path / "existing.txt"
    existing.write_text("mine")
    cases = [
        ["bench", "--repeats", "0"], ["bench", "--device", "tpu"], ["bench", "--repeats", "many"],
        ["predict", "x.png", "-e", "cat", "--json", str(tmp_path)],
        ["predict", "x.png", "-e", "cat", "--overlay", str(tmp_path / "x.xyz")],
        ["predict", "x.png", "-e", "cat", "--overlay", "/dev/null.png"],
        ["synth", "--n", "-1", "--out", str(tmp_path / "d"), "--split", "train"],
        ["synth", "--n", "1", "--out", str(existing), "--split", "train"],
        ["evaluate", "--data", "x", "--split", "val", "--limit", "0"],
        ["predict", str(tmp_path / "missing.png"), "-e", "cat", "--device", "cpu"],
    ]
    for argv in cases:
        one_line_error(capsys, grmnet_cli.main, argv)
    assert existing.read_text() == "mine"
    crafted = {name: write(tmp_path, f"c{n}.ora", data) for n, (name, data) in enumerate(hostile_oras().items())}
    for name, path in list(crafted.items())[::4]:
        err = one_line_error(capsys, app_cli.main, ["export", path, "--out", str(tmp_path / "out.png")])
        assert "sketchedit: error:" in err, (name, err)
    one_line_error(capsys, app_cli.main, ["export", str(tmp_path / "missing.ora"), "--out", str(tmp_path / "o.png")])
    assert not (tmp_path / "out.png").exists()


# ------------------------------------------------------------------------------------------- app
def test_the_window_reports_bad_files_and_keeps_running(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from sketchedit.mainwindow import MainWindow

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda p, t, text, *a, **k: warnings.append(text)))
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        recovery_dir=str(tmp_path / "recovery"), start_model=False)
    qtbot.addWidget(window)
    doc = window.doc
    files = {**{f"{n}.ora": data for n, data in enumerate(hostile_oras().values())},
             "huge.png": C.header_only_png(30000, 30000), "bad.jpg": b"\xff\xd8 nope"}
    for name, data in files.items():
        assert not window.open_path(write(tmp_path, name, data), confirm=False), name
        assert len(warnings) and "\n" not in warnings[-1]
    assert window.doc is doc and len(warnings) == len(files)
    assert window.client._thread.isRunning(), "the model's worker thread is untouched"


def test_reading_files_in_the_app_does_not_import_torch():
    code = "import sys, sketchedit.export, sketchedit.mainwindow; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip() == "False", out.stderr[-500:]


def test_zip_entries_declaring_huge_sizes_are_not_read(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("stack.xml", C.stack_xml(40, 30))
        with zf.open("data/base.png", "w", force_zip64=True) as fh:  # 129 MB of zeros in a ~130 KB entry
            for _ in range(129):
                fh.write(bytes(2 ** 20))
    path = write(tmp_path, "bomb.ora", buf.getvalue())
    assert os.path.getsize(path) < 2 ** 20
    with pytest.raises(ImageError, match="too large"):
        load_ora(path)
