"""SketchEdit: the desktop editor on top of GRM-Net."""
