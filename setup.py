"""Standalone packaging of movie maxshift (for a Scipion without Xmipp).

The metadata is in pyproject.toml. This file only runs what must run code:
it assembles build/standalone, the installed `xmipp3` package, from the
project's xmipp3/ and the stand-alone plugin shell (plugin_build/), before
setuptools reads it. With Xmipp installed, build a merged scipion-em-xmipp
instead (`./dev xmipp`).
"""
import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'plugin_build'))
from assemble import assemble_standalone  # noqa: E402

assemble_standalone(os.path.join('build', 'standalone'))
setup()
