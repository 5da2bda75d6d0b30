from xmipp3.maxshift.version import __version__  # noqa: F401
