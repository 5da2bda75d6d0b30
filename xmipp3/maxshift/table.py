"""The per-movie motion table (CSV) that pipelines and dashboards read.

Pure Python and numpy, no Scipion imports. One row per classified movie,
with the columns in COLUMNS: metrics in A (empty when the alignment is
invalid), the trajectory's shape, decision 'accepted' or 'discarded', the
discard reason, the motion note, the shape class, jump frames and the
frames that would pass (see the protocol's item attributes).
"""
import csv
from array import array
import io
import os

import numpy as np

from xmipp3.maxshift import names

# Dose-aware metrics: empty when the movies carry no dose information
DOSE_METRICS = tuple(figure.column for figure in names.DOSE_FIGURES)
# Trajectory shape (xmipp3.maxshift.frames): shares 0-1, direction in degrees
SHAPE_METRICS = tuple(figure.column for figure in names.SHAPE_FIGURES)
NUMERIC = (names.MAX_FRAME_SHIFT.column, names.TOTAL_TRAVEL.column) + DOSE_METRICS \
    + SHAPE_METRICS
# The shape class; the frames whose step is over the max frame shift
# ('2 17'); the range of frames that would pass ('3-40', discarded movies)
FRAME_TEXT = tuple(figure.column for figure in names.TEXT_FIGURES)
COLUMNS = ('id', 'micName') + NUMERIC + ('decision', 'reason', 'note') + FRAME_TEXT
OPTIONAL = DOSE_METRICS + SHAPE_METRICS + FRAME_TEXT
ACCEPTED, DISCARDED = 'accepted', 'discarded'
# What row() and the writers look up for every row
_OPTIONAL_SET = frozenset(OPTIONAL)
_NUMERIC_SET = frozenset(NUMERIC)
_EMPTY_OPTIONAL = dict(dict.fromkeys(OPTIONAL), **dict.fromkeys(FRAME_TEXT, ''))


def row(movieId, micName, maxFrameShift, totalTravel, accepted, reason='',
        note='', **optional):
    """One table row; metrics in A, None when unknown. optional: any of
    OPTIONAL by name (empty when not given)."""
    unknown = optional.keys() - _OPTIONAL_SET
    if unknown:
        raise ValueError('unknown table columns: %s' % ', '.join(sorted(unknown)))
    tableRow = dict(_EMPTY_OPTIONAL)
    tableRow.update(optional, id=movieId, micName=micName,
                    maxFrameShift_A=maxFrameShift, totalTravel_A=totalTravel,
                    decision=ACCEPTED if accepted else DISCARDED,
                    reason=reason, note=note)
    return tableRow


def _formatted(tableRow):
    """The row's CSV fields, in COLUMNS order."""
    return ['' if tableRow[column] is None else
            '%.6g' % tableRow[column] if column in _NUMERIC_SET else
            tableRow[column]
            for column in COLUMNS]


def write_table(path, rows):
    """Write the whole table at once, replacing any previous file atomically."""
    partial = path + '.partial'
    with open(partial, 'w', newline='', encoding='utf-8') as tableFile:
        writer = csv.writer(tableFile)  # what csv.DictWriter writes, with fewer checks
        writer.writerow(COLUMNS)
        writer.writerows(_formatted(r) for r in rows)
    os.replace(partial, path)


def append_rows(path, rows):
    """Add rows to a table written by write_table."""
    with open(path, 'a', newline='', encoding='utf-8') as tableFile:
        csv.writer(tableFile).writerows(_formatted(r) for r in rows)


def _complete_lines(path):
    """The table's text without a last line still being written (no
    newline yet), so a reader never sees half a row while the protocol
    appends."""
    with open(path, newline='', encoding='utf-8') as tableFile:
        text = tableFile.read()
    return io.StringIO(text[:text.rfind('\n') + 1])


def read_table(path):
    """Rows as dicts: id as int, metrics as float (None when empty); a
    row still being written is left out."""
    rows = list(csv.DictReader(_complete_lines(path)))
    for tableRow in rows:
        tableRow['id'] = int(tableRow['id'])
        for column in NUMERIC:
            value = tableRow.get(column)  # absent in tables of older versions
            tableRow[column] = float(value) if value else None
        for column in FRAME_TEXT:
            tableRow.setdefault(column, '')
    return rows


def read_arrays(path):
    """as_arrays(read_table(path)), read row by row without keeping a dict
    per row: what the summary plot of a long session reads."""
    reader = csv.reader(_complete_lines(path))
    header = next(reader, [])
    position = {column: index for index, column in enumerate(header)}
    numeric = [(array('d'), position.get(column)) for column in NUMERIC]
    ids, micNames, accepted, reasons = [], [], [], []
    for tableRow in reader:
        ids.append(int(tableRow[position['id']]))
        micNames.append(tableRow[position['micName']])
        accepted.append(tableRow[position['decision']] == ACCEPTED)
        reasons.append(tableRow[position['reason']])
        for values, index in numeric:  # a column absent in older tables: NaN
            value = tableRow[index] if index is not None else ''
            values.append(float(value) if value else np.nan)
    arrays = {column: np.frombuffer(values, dtype=float) if values else np.array([])
              for column, (values, _) in zip(NUMERIC, numeric)}
    return dict(arrays, id=np.array(ids, dtype=int), micName=micNames,
                accepted=np.array(accepted, dtype=bool), reason=reasons)


def as_arrays(rows):
    """Columns as numpy arrays for plotting: metrics NaN when unknown,
    'accepted' a boolean array."""
    def floats(column):
        return np.array([np.nan if r.get(column) is None else r[column] for r in rows],
                        dtype=float)
    arrays = {column: floats(column) for column in NUMERIC}
    return dict(arrays, id=np.array([r['id'] for r in rows], dtype=int),
                micName=[r['micName'] for r in rows],
                accepted=np.array([r['decision'] == ACCEPTED for r in rows], dtype=bool),
                reason=[r['reason'] for r in rows])
