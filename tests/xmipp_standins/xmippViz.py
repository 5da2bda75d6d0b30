"""STAND-IN for compiled Xmipp's `xmippViz` (Java viewers), for tests only:
empty, so Xmipp's plugin imports; nothing here can show an image."""
