"""Peak memory (max RSS) of opening crafted files (tests/crafted.py), each in a fresh process.

    python tools/measure_file_memory.py export   # `sketchedit export FILE --out x.png` (no torch)
    python tools/measure_file_memory.py grmnet   # grmnet.imaging.to_grey(FILE) with torch loaded

Writes the crafted files (a few MB) under $TMPDIR/sketchedit-crafted and prints one JSON line a file.
"""
import io, json, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from PIL import Image
import crafted as C

D = os.path.join(tempfile.gettempdir(), "sketchedit-crafted")
os.makedirs(D, exist_ok=True)

def write(name, data):
    p = os.path.join(D, name)
    if not os.path.exists(p):
        with open(p, "wb") as fh: fh.write(data() if callable(data) else data)
    return p

def big_jpeg():
    img = Image.new("L", (20000, 20000), 255)
    buf = io.BytesIO(); img.save(buf, "JPEG", quality=80); return buf.getvalue()

def foreign_ora():
    bottom = C.blank_png(4096, 4096, 6, value=255)
    top = C.blank_png(4096, 4096, 6, value=0)
    third = C.blank_png(3800, 3800, 6, value=0)
    return C.ora_bytes({"stack.xml": C.stack_xml(4096, 4096, layers=(("data/third.png", 5, 5), ("data/top.png", 10, 10), ("data/bottom.png", 0, 0))),
                        "data/bottom.png": bottom, "data/top.png": top, "data/third.png": third})

def ours_ora():
    W = H = 4096
    base = C.blank_png(W, H, 2, value=255)
    ink = C.blank_png(3900, 3900, 6, value=0)
    region = C.blank_png(3900, 3900, 0, value=0)
    meta = {"layers": [C.our_layer(1, size=[3900, 3900])]}
    return C.ora_bytes({"stack.xml": C.stack_xml(W, H), "data/base.png": base, "sketchedit/ink-1.png": ink,
                        "sketchedit/region-1.png": region, "sketchedit/document.json": json.dumps(meta)})

files = {
    "png_30000x30000_grey.png": lambda: C.blank_png(30000, 30000, 0),
    "png_20000x20000_1bit.png": lambda: C.blank_png(20000, 20000, 0, bit_depth=1, value=0xFF),
    "png_20000x20000_grey.png": lambda: C.blank_png(20000, 20000, 0),
    "png_10000x10000_rgba.png": lambda: C.blank_png(10000, 10000, 6),
    "png_20000x20000_palette_trns.png": lambda: C.blank_png(20000, 20000, 3, value=0, trns=b"\x00"),
    "png_14000x14000_16bit.png": lambda: C.blank_png(14000, 14000, 0, bit_depth=16),
    "jpeg_20000x20000.jpg": big_jpeg,
    "ora_layer_20000x20000_header.ora": lambda: C.our_ora(layer_png=C.header_only_png(20000, 20000)),
    "ora_stack_32768_canvas.ora": lambda: C.ora_bytes({"stack.xml": C.stack_xml(32768, 32768)}),
    "ora_foreign_4096_4096_3800.ora": foreign_ora,
    "ora_ours_4096_plus_3900.ora": ours_ora,
}
paths = {n: write(n, f) for n, f in files.items()}
mode = sys.argv[1] if len(sys.argv) > 1 else "export"
rows = []
for name, path in paths.items():
    if mode == "export":
        cmd = ["sketchedit", "export", path, "--out", os.path.join(D, "out.png")]
    else:  # the model's reader, with torch loaded as in `grmnet predict`
        cmd = [sys.executable, "-c", f"import torch, grmnet.imaging as i; g = i.to_grey({path!r}); print(g.shape)"]
    t = time.time()
    wrapper = [sys.executable, "-c", "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr); print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)"]
    proc = subprocess.run(wrapper + cmd, capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    rss = int(proc.stdout.strip().splitlines()[-1].split()[1]); before = 0
    proc.stdout = "\n".join(proc.stdout.strip().splitlines()[:-1])
    rows.append({"file": name, "bytes": os.path.getsize(path), "rc": proc.returncode,
                 "max_rss_mb": round(rss / 1024) if rss > before else f"<= {round(before/1024)}",
                 "s": round(time.time() - t, 1),
                 "said": (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or [""])[-1][:110]})
    print(json.dumps(rows[-1]), flush=True)
