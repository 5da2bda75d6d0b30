"""What a run has classified so far, counted from the verdicts: decisions
per criterion, movies accepted unchecked, how the input's shifts are
numbered, the session's frame profile, drift directions and shapes. Its
record (plain data, JSON) is what the protocol's summary is rendered from.

Pure Python and numpy, no Scipion imports.
"""
from collections import Counter

from xmipp3.maxshift import frames, names, table
from xmipp3.maxshift.layout import LayoutTally

LISTED_NAMES = 10  # names listed in logs and the summary before "and N more"
PROCESSED, ACCEPTED = 'processed', 'accepted'


class SessionTally:

    def __init__(self):
        self.counts = Counter()  # PROCESSED, ACCEPTED and criterion key -> movies
        self.flagged = []  # names of the movies accepted unchecked
        self.layouts = LayoutTally()
        self.profile = frames.FrameProfile()
        self.directions = frames.DriftDirections()
        self.shapes = Counter()  # (decision, shape class) -> movies
        self.onlyFirstFrames = 0  # discarded movies that pass without their first frames

    def add(self, micName, verdict):
        """Count a movie's verdict, taking its frame-level figures (they are
        not kept per movie). Return its layout when it is a new one."""
        self.counts[PROCESSED] += 1
        self.counts[ACCEPTED if verdict.accepted else verdict.criterion] += 1
        if verdict.flagged:
            self.flagged.append(micName)
        figures = verdict.frames
        if figures is not None:
            if figures.frames is not None:
                self.profile.add(figures.steps, figures.frames, verdict.accepted)
            self.directions.add(figures.shape.direction_deg)
            self.onlyFirstFrames += figures.only_first_frames_fail
            verdict.frames = None
        self.shapes[table.ACCEPTED if verdict.accepted else table.DISCARDED,
                     verdict.texts[names.SHAPE.column] or 'unknown'] += 1
        if verdict.layout and self.layouts.add(verdict.layout):
            return verdict.layout
        return None

    @property
    def processed(self):
        return self.counts[PROCESSED]

    def line(self):
        """'120 movies processed, 100 accepted, 20 discarded'."""
        return '%d movies processed, %d accepted, %d discarded' % (
            self.processed, self.counts[ACCEPTED],
            self.processed - self.counts[ACCEPTED])

    def record(self, automatic=''):
        """The summary's data; automatic: the thresholds' description."""
        return {'counts': self.counts, 'flagged': self.flagged[:LISTED_NAMES],
                'flaggedCount': len(self.flagged),
                'layouts': self.layouts.to_list(),
                'frames': frames.session_record(self.profile, self.directions,
                                                self.shapes, self.onlyFirstFrames),
                'automatic': automatic}


def discarded(record):
    """(discarded, processed) movies of a record."""
    counts = record['counts']
    processed = counts.get(PROCESSED, 0)
    return processed - counts.get(ACCEPTED, 0), processed


def record_lines(record):
    """The summary's lines from record(): counts, then what they mean."""
    counts = record['counts']
    dropped, processed = discarded(record)
    lines = ['Movies processed: %d, accepted: %d, discarded: %d'
             % (processed, processed - dropped, dropped)]
    lines += ['  discarded by %s: %d' % (criterion, count)
              for criterion, count in sorted(counts.items())
              if criterion not in (PROCESSED, ACCEPTED)]
    lines += LayoutTally.from_list(record.get('layouts', [])).lines()
    lines += frames.session_lines(record.get('frames', {}))
    if record.get('automatic'):
        automatic = record['automatic']
        lines.append(automatic[0].upper() + automatic[1:])
    if record['flaggedCount']:
        lines.append('WARNING: %d movies have no motion information (single '
                     'frame or all-zero shifts) and were accepted unchecked: %s'
                     % (record['flaggedCount'],
                        listed(record['flagged'], record['flaggedCount'])))
    return lines


def listed(names, total=None):
    """'a, b, c and 7 more'."""
    total = len(names) if total is None else total
    shown = ', '.join(names[:LISTED_NAMES])
    return shown + (' and %d more' % (total - LISTED_NAMES)
                    if total > LISTED_NAMES else '')
