"""Scipion plugin with the movie maxshift protocol: motion-based quality
control of aligned cryo-EM movies and the micrographs made from them.

This is the standalone plugin, for a Scipion without Xmipp. Where Xmipp is
installed, the protocol lives inside it (a merged scipion-em-xmipp build).
"""
import os

import pwem
import pyworkflow.utils as pwutils

from .version import __version__  # noqa: F401


class Plugin(pwem.Plugin):
    """Pure Python: no binaries, no variables of its own."""
    # The form's Help shows it as "Documentation or forum url for this
    # protocol". This plugin has no public page of its own, and Xmipp's is
    # not about it: point at Scipion's documentation, where its forum and
    # mailing list are and which the project window's Help opens too.
    _url = 'https://scipion-em.github.io/docs/'

    @classmethod
    def _defineVariables(cls):
        pass

    @classmethod
    def getEnviron(cls, xmippFirst=True):
        """The current environment: there are no Xmipp programs to add.
        Takes Xmipp's signature because pwem calls it so."""
        return pwutils.Environ(os.environ)

    @classmethod
    def defineBinaries(cls, env):
        pass
