from .protocol_movie_max_shift import XmippProtMovieMaxShift
from .protocol_simulate_aligned_movies import XmippProtSimulateAlignedMovies

__all__ = ['XmippProtMovieMaxShift', 'XmippProtSimulateAlignedMovies']
