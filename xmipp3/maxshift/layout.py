"""How an aligner stored a movie's shifts: the frame numbering, as data.

A movie alignment in Scipion (MovieAlignment) holds the aligned frames
first..last and one x, y shift per frame, but the aligners fill it in
different ways (read in their current releases):

- one shift per aligned frame: MotionCor with the shifts of its log, RELION
  (the summed range), FlexAlign on MRC and TIFF movies;
- all shifts zero: aligned movies were saved, so the aligner kept no
  trajectory (MotionCor stores a zero for every frame of the movie with the
  range it aligned, e.g. 40 zeros for frames 3-40);
- one shift per EER fraction (a group of EER frames): MotionCor and
  FlexAlign store the range of the EER frames, 1..n, RELION the fractions;
- no range (first or last below 1): the aligner did not say.

Max frame shift and total travel come from the shifts whatever the
numbering. Figures that need frame numbers are computed only when the range
agrees with the shifts, and never guessed. ShiftLayout describes one movie;
LayoutTally what a run has seen, rendered to text in describe() and lines().
"""
from dataclasses import asdict, dataclass

LAYOUT_FRAMES = 'numbered'              # the range agrees with the shifts
LAYOUT_NO_RANGE = 'no range'            # no usable range was stored
LAYOUT_MISMATCH = 'mismatch'            # range and shifts disagree
LAYOUT_NO_TRAJECTORY = 'no trajectory'  # all shifts zero


def aligned_range(frame_range):
    """(first, last) as ints when both are frame numbers >= 1, else None
    (aligners store -1 or 0 when they do not say)."""
    try:
        first, last = (int(value) for value in frame_range)
    except (TypeError, ValueError, OverflowError):
        return None
    return (first, last) if first >= 1 and last >= 1 else None


@dataclass(frozen=True)
class ShiftLayout:
    """How one movie's shifts are stored. first and last are 0 when no
    usable range was stored; movie_frames is 0 when unknown."""
    n_shifts: int
    first: int = 0
    last: int = 0
    all_zero: bool = False
    eer: bool = False
    movie_frames: int = 0

    @property
    def kind(self):
        if self.all_zero:
            return LAYOUT_NO_TRAJECTORY
        if not self.first:
            return LAYOUT_NO_RANGE
        return LAYOUT_MISMATCH if self.frames_unknown else LAYOUT_FRAMES

    @property
    def frames_unknown(self):
        """Why the shifts have no frame numbers: '' when the range agrees
        with them or none was stored."""
        if self.first and self.last - self.first + 1 != self.n_shifts:
            return ('aligned frames %d-%d are %d frames but there are %d shifts'
                    % (self.first, self.last, self.last - self.first + 1,
                       self.n_shifts))
        return ''

    @property
    def first_frame(self):
        """Frame number of the first shift, or None when unknown."""
        return self.first if self.first and not self.frames_unknown else None

    def describe(self):
        """What the input looks like, e.g. 'shifts for frames 3-40 of 40'."""
        kind = self.kind
        if kind == LAYOUT_NO_TRAJECTORY:
            return ('no trajectories: all shifts are zero (aligned movies were '
                    'saved: the aligner stored no trajectory)')
        if kind == LAYOUT_NO_RANGE:
            text = '%d shifts, no aligned frame range stored' % self.n_shifts
        elif kind == LAYOUT_MISMATCH:
            text = ('%d shifts for aligned frames %d-%d (%d frames): frame '
                    'numbers unknown' % (self.n_shifts, self.first, self.last,
                                         self.last - self.first + 1))
        else:
            text = 'shifts for frames %d-%d' % (self.first, self.last)
            if self.movie_frames:
                text += ' of %d' % self.movie_frames
        return 'EER fractions: ' + text if self.eer else text

    def advice(self):
        """What the layout means for the motion figures; '' when nothing."""
        if self.kind == LAYOUT_NO_TRAJECTORY:
            return ('These movies are accepted without a motion check. To '
                    'check them, align again without saving aligned movies '
                    '(MotionCor: "Save aligned movie?" No).')
        advice = []
        if self.eer:
            advice.append('A frame step is the motion between two EER '
                          'fractions: set the max frame shift for a fraction. '
                          'Early/late motion are left empty (the dose of a '
                          'fraction is not stored).')
        if self.kind == LAYOUT_MISMATCH:
            advice.append('Max frame shift and total travel are measured from '
                          'the shifts as stored; early/late motion, which need '
                          'frame numbers, are left empty.')
        return ' '.join(advice)


class LayoutTally:
    """The layouts a run has seen: per kind (and EER or not) the first
    movie's layout, how many movies, and whether their descriptions
    differed."""

    def __init__(self):
        self._seen = {}  # (kind, eer) -> [layout, count, varied]

    def add(self, layout):
        """Count a movie's layout; True when it is the first of its kind."""
        key = (layout.kind, layout.eer)
        entry = self._seen.get(key)
        if entry is None:
            self._seen[key] = [layout, 1, False]
            return True
        entry[1] += 1
        # an equal layout describes itself the same (most movies: no text made)
        entry[2] = entry[2] or (layout != entry[0]
                                and layout.describe() != entry[0].describe())
        return False

    def to_list(self):
        return [dict(asdict(layout), count=count, varied=varied)
                for layout, count, varied in self._seen.values()]

    @classmethod
    def from_list(cls, entries):
        tally = cls()
        for entry in entries:
            entry = dict(entry)
            count, varied = entry.pop('count'), entry.pop('varied')
            layout = ShiftLayout(**entry)
            tally._seen[(layout.kind, layout.eer)] = [layout, count, varied]
        return tally

    def lines(self):
        """One line per kind, most movies first, then its advice if any."""
        lines = []
        for layout, count, varied in sorted(self._seen.values(),
                                            key=lambda entry: -entry[1]):
            lines.append('Input alignments: %s%s (%d movie%s)'
                         % ('e.g. ' if varied else '', layout.describe(),
                            count, '' if count == 1 else 's'))
            if layout.advice():
                lines.append('  ' + layout.advice())
        return lines
