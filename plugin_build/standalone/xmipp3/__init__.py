"""Scipion plugin with the movie maxshift protocol: motion-based quality
control of aligned cryo-EM movies and the micrographs made from them.

This is the standalone plugin, for a Scipion without Xmipp. Where Xmipp is
installed, the protocol lives inside it (a merged scipion-em-xmipp build).
"""
import pwem

from .version import __version__  # noqa: F401


class XmippNotInstalled(RuntimeError):
    """A feature of the real Xmipp plugin was asked of the standalone one."""


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
        """Xmipp's programs and viewers are not here: say so. Takes Xmipp's
        signature, as pwem calls it (to start Xmipp's Java viewer)."""
        raise XmippNotInstalled(
            'Xmipp is not installed: this Scipion has the standalone movie maxshift '
            'plugin, without Xmipp\'s programs and viewers. Open sets with '
            'right-click -> "Scipion" or from the movie maxshift viewer; for Xmipp, '
            'install scipion-em-xmipp with movie maxshift merged in (README, Install).')

    @classmethod
    def defineBinaries(cls, env):
        pass
