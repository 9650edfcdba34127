"""SketchEdit desktop app: `python main.py [FILE]` (an example sketch opens when no file is given)."""
import sys

from sketchedit.app import run

if __name__ == "__main__":
    sys.exit(run(sys.argv))
