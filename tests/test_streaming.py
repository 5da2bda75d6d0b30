"""The streaming glue on real SQLite set files: only new rows are read,
nothing twice, the closed state, lock retries and the errors of a full
disk."""
import errno
import os
import sqlite3
import tempfile
from unittest import mock

import pwem.objects as emobj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xmipp3.maxshift import streaming
from xmipp3.maxshift.streaming import (NewRowsReader, OutputLost, SeenIds,
                                        diskFullCause, retryingLocks)


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


def stamp_rows(path, movieIds, stamp):
    """Give rows the creation stamp a producer's clock would have written
    (an SQLite time expression, or None for no stamp)."""
    with sqlite3.connect(path) as db:
        db.execute('UPDATE Objects SET creation = %s WHERE id IN (%s)'
                   % (stamp or 'NULL', ','.join(map(str, movieIds))))
    db.close()


# The stamps of later rows relative to rows already read, as producers'
# clocks give them: stepped back a little or far, the same second, far
# ahead (then back to normal), shuffled, or missing.
STAMPS = {
    'back 30 s': ["datetime('now', '-30 seconds')"] * 3,
    'back 10 years': ["datetime('now', '-10 years')"] * 3,
    'equal': ["datetime('now')"] * 3,
    'ahead 10 years, then normal': ["datetime('now', '+10 years')",
                                    "datetime('now')", "datetime('now')"],
    'out of order': ["datetime('now', '+1 hour')", "datetime('now', '-1 hour')",
                     "datetime('now', '-1 day')"],
    'none': [None] * 3,
}


@pytest.mark.parametrize('stamps', list(STAMPS))
def test_new_rows_are_found_whatever_their_creation_stamps(tmp_path, stamps):
    path = str(tmp_path / 'movies.sqlite')
    reader = NewRowsReader(emobj.SetOfMovies, path)
    append_movies(path, [1, 2, 3])
    stamp_rows(path, [1, 2, 3], "datetime('now')")
    assert read_ids(reader) == [1, 2, 3]
    for batch, stamp in zip(([4, 5], [6], [8, 7]), STAMPS[stamps]):
        append_movies(path, batch)
        stamp_rows(path, batch, stamp)
        assert sorted(read_ids(reader)) == sorted(batch), stamps
    append_movies(path, [9], close=True)
    assert read_ids(reader) == [9] and reader.closed
    assert read_ids(reader) == []


def test_rows_within_one_stamp_second_are_read_once(tmp_path):
    path = str(tmp_path / 'movies.sqlite')
    reader = NewRowsReader(emobj.SetOfMovies, path)
    for batch in ([1, 2], [3], [4, 5, 6]):
        append_movies(path, batch)
        stamp_rows(path, batch, "'2026-01-01 00:00:00'")
        assert read_ids(reader) == batch


def test_many_new_rows_among_seen_ones_are_all_read(tmp_path):
    path = str(tmp_path / 'movies.sqlite')
    append_movies(path, range(1, 2001, 2))  # odd ids
    reader = NewRowsReader(emobj.SetOfMovies, path, seenIds=range(1, 1001, 2))
    append_movies(path, range(2, 2001, 2))  # the even ids come late
    assert read_ids(reader) == [i for i in range(1, 2001) if i > 1000 or i % 2 == 0]
    assert read_ids(reader) == []


def test_a_clock_that_went_back_is_logged_once(tmp_path):
    path = str(tmp_path / 'movies.sqlite')
    logged = []
    reader = NewRowsReader(emobj.SetOfMovies, path, log=logged.append)
    append_movies(path, [1, 2])
    stamp_rows(path, [1, 2], "'2026-01-01 12:00:00'")
    read_ids(reader)
    for movieId, stamp in ((3, '12:00:01'), (4, '12:00:00'), (5, '11:59:30'),
                           (6, '11:59:31'), (7, '13:00:00')):
        append_movies(path, [movieId])
        stamp_rows(path, [movieId], "'2026-01-01 %s'" % stamp)
        assert read_ids(reader) == [movieId]
        assert len(logged) == (1 if movieId >= 5 else 0), (movieId, logged)
    assert "the producer's clock went back ~30 s" in logged[0]
    assert path in logged[0]


@given(st.lists(st.integers(-3, 60)), st.lists(st.integers(-3, 60)))
def test_seen_id_gaps_hold_exactly_the_ids_not_seen(seeded, added):
    seen = SeenIds(seeded)
    for rowId in added:
        seen.add(rowId)
    expected = set(seeded) | set(added)
    assert len(seen) == len(expected)
    gaps = seen.gaps()
    for rowId in range(-6, 64):
        inGap = any((after is None or rowId > after) and
                    (before is None or rowId < before) for after, before in gaps)
        assert inGap == (rowId not in expected) == (rowId not in seen), rowId
    assert len(gaps) <= len(expected) + 1


@settings(max_examples=30, deadline=None)
@given(order=st.lists(st.integers(1, 400), unique=True, min_size=1, max_size=60),
       cuts=st.lists(st.integers(1, 59), max_size=5),
       seeded=st.lists(st.integers(1, 400), max_size=20),
       maxGaps=st.sampled_from([0, 3, 200]))
def test_each_row_is_read_once_whatever_order_its_id_comes_in(order, cuts, seeded,
                                                              maxGaps):
    """Batches of ids in any order (late low ids, holes filled later), ids
    given as seen, and either way of listing the unseen ids."""
    bounds = sorted({0, len(order)} | {c for c in cuts if c < len(order)})
    batches = [order[a:b] for a, b in zip(bounds, bounds[1:])]
    with tempfile.TemporaryDirectory() as folder, \
            mock.patch.object(streaming, 'MAX_GAP_QUERIES', maxGaps):
        path = os.path.join(folder, 'movies.sqlite')
        reader = NewRowsReader(emobj.SetOfMovies, path, seenIds=seeded)
        for batch in batches:
            append_movies(path, batch)
            got = read_ids(reader)
            assert len(got) == len(set(got))
            assert set(got) == set(batch) - set(seeded)
        assert read_ids(reader) == []


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
