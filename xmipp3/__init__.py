"""Scipion plugin with the movie maxshift protocol: motion-based quality
control of aligned cryo-EM movies and the micrographs made from them."""
import pwem

from .version import __version__


class Plugin(pwem.Plugin):
    """This plugin runs pure Python: it has no binaries and no environment."""
    _url = 'https://github.com/I2PC/scipion-em-xmipp'

    @classmethod
    def _defineVariables(cls):
        pass

    @classmethod
    def getEnviron(cls):
        return None

    @classmethod
    def defineBinaries(cls, env):
        pass
