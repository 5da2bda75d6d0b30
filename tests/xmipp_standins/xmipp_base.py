"""STAND-IN for a module of compiled Xmipp, for tests only.

Xmipp's plugin imports `xmipp_base` and `xmippViz`, which only a compiled
Xmipp installs (in its pylib folder); they cannot be built on a test machine
without Xmipp's binaries. The pure-Python part of `xmipp_base` is what
pyxmipp3's `xmipp_script` provides, so this stand-in re-exports it.
"""
from xmipp_script import *  # noqa: F401,F403
