"""Version of movie maxshift, in the standalone plugin and in merged Xmipp builds."""
__version__ = '0.2.0'
