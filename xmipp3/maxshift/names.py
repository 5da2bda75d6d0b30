"""The public names of movie maxshift, declared once: output sets and their
files, item attributes, table columns, metrics and the run's extra files.
Saved workflows, the viewer, pipelines reading the CSV and Xmipp's own
plugins depend on these spellings; tests/test_public_names.py pins them.

Pure Python, no Scipion imports.
"""
from dataclasses import dataclass

# ----------------------------------------------------------- output sets
OUTPUT_MOVIES = 'outputMovies'
OUTPUT_MOVIES_DISCARDED = 'outputMoviesDiscarded'
OUTPUT_MICS = 'outputMicrographs'
OUTPUT_MICS_DISCARDED = 'outputMicrographsDiscarded'
OUTPUT_MICS_DW = 'outputMicrographsDoseWeighted'
OUTPUT_MICS_DW_DISCARDED = 'outputMicrographsDoseWeightedDiscarded'

# (accepted, discarded) outputs of the movies, and of each micrograph output
# of the alignment protocol (which uses the same names as ours)
MOVIE_SPLIT = (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
MIC_SPLITS = {OUTPUT_MICS: (OUTPUT_MICS, OUTPUT_MICS_DISCARDED),
              OUTPUT_MICS_DW: (OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED)}
DISCARDED_OUTPUTS = (OUTPUT_MOVIES_DISCARDED, OUTPUT_MICS_DISCARDED,
                     OUTPUT_MICS_DW_DISCARDED)

# Output -> its file in the run folder
OUTPUT_FILES = {OUTPUT_MOVIES: 'movies_accepted.sqlite',
                OUTPUT_MOVIES_DISCARDED: 'movies_discarded.sqlite',
                OUTPUT_MICS: 'micrographs_accepted.sqlite',
                OUTPUT_MICS_DISCARDED: 'micrographs_discarded.sqlite',
                OUTPUT_MICS_DW: 'micrographs_dw_accepted.sqlite',
                OUTPUT_MICS_DW_DISCARDED: 'micrographs_dw_discarded.sqlite'}
# The simulator's outputs (an alignment protocol's names) -> files
SIMULATION_FILES = {OUTPUT_MOVIES: 'movies.sqlite',
                    OUTPUT_MICS: 'micrographs.sqlite',
                    OUTPUT_MICS_DW: 'micrographs_dw.sqlite'}

# ------------------------------------------------------ run's extra files
MOTION_TABLE_FILE = 'movie_motion.csv'
SUMMARY_PLOT_FILE = 'motion_summary.png'
FRAME_PROFILE_FILE = 'frame_profile.csv'
AUTO_STATE_FILE = 'auto_thresholds.json'
RUN_RECORD_FILE = 'run_record.jsonl'  # one JSON line per step start, poll, plot, end

# ------------------------------------------------------- item attributes
ATTR_MAX_FRAME_SHIFT = '_xmipp_maxFrameShift'
ATTR_TOTAL_TRAVEL = '_xmipp_totalTravel'
ATTR_EARLY_MOTION = '_xmipp_earlyMotion'
ATTR_LATE_MOTION = '_xmipp_lateMotion'
ATTR_FIRST_THIRD_STEP = '_xmipp_firstThirdMeanStep'
ATTR_STRAIGHTNESS = '_xmipp_straightness'
ATTR_DRIFT_DIRECTION = '_xmipp_driftDirection'
ATTR_FIRST_THIRD_SHARE = '_xmipp_firstThirdShare'
ATTR_LARGEST_STEP_SHARE = '_xmipp_largestStepShare'
ATTR_SHAPE = '_xmipp_shape'
ATTR_JUMP_FRAMES = '_xmipp_jumpFrames'
ATTR_PASSING_FRAMES = '_xmipp_passingFrames'
ATTR_DISCARD_REASON = '_xmipp_discardReason'  # '' when accepted
ATTR_MOTION_NOTE = '_xmipp_motionNote'  # what could not be checked, and why


@dataclass(frozen=True)
class Figure:
    """One per-movie figure under its three spellings: the table (CSV)
    column, the item attribute and the words used in reasons, the summary
    and plots."""
    column: str
    attribute: str
    label: str


# Motion in Å, on movies and micrographs; the dose-aware three are empty
# without dose information
MAX_FRAME_SHIFT = Figure('maxFrameShift_A', ATTR_MAX_FRAME_SHIFT, 'max frame shift')
TOTAL_TRAVEL = Figure('totalTravel_A', ATTR_TOTAL_TRAVEL, 'total travel')
EARLY_MOTION = Figure('earlyMotion_A', ATTR_EARLY_MOTION, 'early motion')
LATE_MOTION = Figure('lateMotion_A', ATTR_LATE_MOTION, 'late motion')
FIRST_THIRD_STEP = Figure('firstThirdMeanStep_A', ATTR_FIRST_THIRD_STEP,
                          'first-third mean step')
MOTION_FIGURES = (MAX_FRAME_SHIFT, TOTAL_TRAVEL, EARLY_MOTION, LATE_MOTION,
                  FIRST_THIRD_STEP)
DOSE_FIGURES = (EARLY_MOTION, LATE_MOTION, FIRST_THIRD_STEP)
# The trajectory's shape (xmipp3.maxshift.frames), on movies only: shares
# 0-1 and a direction in degrees
STRAIGHTNESS = Figure('straightness', ATTR_STRAIGHTNESS, 'straightness')
DRIFT_DIRECTION = Figure('driftDirection_deg', ATTR_DRIFT_DIRECTION, 'drift direction')
FIRST_THIRD_SHARE = Figure('firstThirdShare', ATTR_FIRST_THIRD_SHARE, 'first-third share')
LARGEST_STEP_SHARE = Figure('largestStepShare', ATTR_LARGEST_STEP_SHARE,
                            'largest-step share')
SHAPE_FIGURES = (STRAIGHTNESS, DRIFT_DIRECTION, FIRST_THIRD_SHARE, LARGEST_STEP_SHARE)
# Text on movies only: the shape class, the frames whose step is over the
# max frame shift ('2 17') and, for a discarded movie, the frames that would
# pass the rule ('3-40')
SHAPE = Figure('shape', ATTR_SHAPE, 'shape')
JUMP_FRAMES = Figure('jumpFrames', ATTR_JUMP_FRAMES, 'jump frames')
PASSING_FRAMES = Figure('passingFrames', ATTR_PASSING_FRAMES, 'passing frames')
TEXT_FIGURES = (SHAPE, JUMP_FRAMES, PASSING_FRAMES)
