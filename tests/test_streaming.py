"""The streaming glue on real SQLite set files: only new rows are read,
nothing twice, the closed state, a full re-read, lock retries and the
errors of a full disk."""
import errno
import sqlite3

import pwem.objects as emobj
import pytest

from xmipp3.maxshift.streaming import (NewRowsReader, OutputLost, diskFullCause,
                                        retryingLocks)


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


def test_a_sweep_finds_rows_stamped_before_the_watermark(tmp_path):
    # A producer continued on a host whose clock is behind stamps its rows
    # in the past: a normal read skips them, a sweep does not.
    path = str(tmp_path / 'movies.sqlite')
    reader = NewRowsReader(emobj.SetOfMovies, path)
    append_movies(path, [1, 2])
    assert read_ids(reader) == [1, 2]
    append_movies(path, [3])
    connection = sqlite3.connect(path)
    connection.execute("UPDATE Objects SET creation = '2000-01-01 00:00:00' WHERE id = 3")
    connection.commit()
    connection.close()
    assert read_ids(reader) == []
    assert [movie.getObjId() for movie in reader.iterNew(sweep=True)] == [3]
    assert [movie.getObjId() for movie in reader.iterNew(sweep=True)] == []


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


def test_disk_full_is_recognised_through_pyworkflow_wrapping():
    full = sqlite3.OperationalError('database or disk is full')
    try:
        try:
            raise full
        except sqlite3.OperationalError as error:
            raise BlockingIOError("Can't update outputMovies after 3 attempts") from error
    except BlockingIOError as wrapped:
        assert diskFullCause(wrapped) is full
    assert diskFullCause(OSError(errno.ENOSPC, 'No space left on device')) is not None
    assert diskFullCause(OSError(errno.EDQUOT, 'Disk quota exceeded')) is not None
    assert diskFullCause(OutputLost('outputMovies: 3 rows missing')) is not None
    assert diskFullCause(sqlite3.OperationalError('database is locked')) is None
    assert diskFullCause(OSError(errno.EACCES, 'Permission denied')) is None
    assert diskFullCause(RuntimeError('other')) is None
