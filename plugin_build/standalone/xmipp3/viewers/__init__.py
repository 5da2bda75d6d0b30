"""Viewers of the plugin. pyworkflow discovers them by importing this
package (a plugin's `viewers` subpackage) and taking its Viewer classes."""
from .viewer_movie_max_shift import XmippMovieMaxShiftViewer

__all__ = ['XmippMovieMaxShiftViewer']
