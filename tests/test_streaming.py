"""The streaming glue on real SQLite set files: only new rows are read,
nothing twice, the closed state, and lock retries."""
import sqlite3

import pwem.objects as emobj
import pytest

from xmipp3.maxshift.streaming import NewRowsReader, retryingLocks


def append_movies(path, movieIds, close=False):
    movies = emobj.SetOfMovies(filename=path)
    if movies._getMapper().hasProperty('self'):
        movies.loadAllProperties()
        movies.enableAppend()
    else:
        movies.setSamplingRate(1.0)
    for movieId in movieIds:
        movie = emobj.Movie(location='movie_%d.mrcs' % movieId)
        movie.setObjId(movieId)
        movies.append(movie)
    movies.setStreamState(movies.STREAM_CLOSED if close else movies.STREAM_OPEN)
    movies.write()
    movies.close()


def read_ids(reader):
    return [movie.getObjId() for movie in reader.iterNew()]


def test_each_read_returns_only_the_rows_added_since_the_last(tmp_path):
    path = str(tmp_path / 'movies.sqlite')
    reader = NewRowsReader(emobj.SetOfMovies, path)
    assert read_ids(reader) == [] and not reader.closed  # nothing committed yet
    append_movies(path, [1, 2, 3])
    assert read_ids(reader) == [1, 2, 3] and not reader.closed
    assert read_ids(reader) == []
    append_movies(path, [7, 5])  # ids out of order, as parallel aligners write
    assert sorted(read_ids(reader)) == [5, 7]
    append_movies(path, [4], close=True)
    assert read_ids(reader) == [4] and reader.closed
    assert reader.info.getSamplingRate() == 1.0


def test_ids_already_seen_are_skipped(tmp_path):
    path = str(tmp_path / 'movies.sqlite')
    append_movies(path, [1, 2, 3, 4])
    assert read_ids(NewRowsReader(emobj.SetOfMovies, path, seenIds={2, 3})) == [1, 4]


def test_locked_reads_are_retried_and_logged():
    attempts, logged = [], []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise sqlite3.OperationalError('database is locked')
        return 'read'
    assert retryingLocks(flaky, 'Reading movies', logged.append) == 'read'
    assert len(attempts) == 3
    assert logged == ['Reading movies: database is locked; trying again in 0.1 s',
                      'Reading movies: database is locked; trying again in 0.2 s']


def test_other_database_errors_are_not_retried():
    attempts = []

    def broken():
        attempts.append(1)
        raise sqlite3.OperationalError('no such table: Objects')
    with pytest.raises(sqlite3.OperationalError):
        retryingLocks(broken, 'Reading movies', print)
    assert len(attempts) == 1
