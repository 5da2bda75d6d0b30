"""Shift trajectories for simulated aligned movies (numpy only).

A trajectory is a dict in the format of the bundled real-motion file:
`name`, `pixel_size_A`, `shift_x_px`, `shift_y_px` and, optionally,
`dose_per_frame_e_per_A2`. Generated ones also say whether they are an
injected outlier (`outlier`: '', 'jump' or 'drift').
"""
import json
import os

import numpy as np

BUNDLED_TRAJECTORIES = os.path.join(os.path.dirname(__file__), 'data',
                                    'real_motion_trajectories.json')


def load_trajectories(path=BUNDLED_TRAJECTORIES):
    """Read a JSON list of trajectories; NaN and Infinity tokens are kept."""
    with open(path, encoding='utf-8') as trajectoryFile:
        trajectories = json.load(trajectoryFile)
    if not isinstance(trajectories, list) or not trajectories:
        raise ValueError('%s must hold a non-empty JSON list of trajectories'
                         % path)
    for index, entry in enumerate(trajectories):
        missing = {'shift_x_px', 'shift_y_px', 'pixel_size_A'} - set(entry)
        if missing:
            raise ValueError('trajectory %d (%s) in %s lacks %s'
                             % (index, entry.get('name', '?'), path,
                                ', '.join(sorted(missing))))
    return trajectories


def random_walk_trajectories(n_movies, n_frames=40, outlier_fraction=0.1,
                             pixel_size=1.0, seed=0, motion_spread=0.0):
    """Beam-induced-motion-like walks, with injected jumps and drifts.

    A normal movie moves fast in its first frames and then settles (steps
    decaying from about 2 A to 0.5 A, in random directions with some
    persistence). An outlier is either a 'jump' (one step of 15-60 A) or a
    'drift' (a steady extra 1.5-3 A per frame, 60-120 A over 40 frames).

    motion_spread: standard deviation of the log of a per-movie factor that
    scales every step of the movie's walk (jumps and drifts are added on
    top, unscaled). With the default 0, normal movies of 40 frames have a
    max frame shift of 1.3-2 A and a total travel of 23-27 A, all much
    alike; real sessions vary more: the log of the total travel has a
    standard deviation of 0.18 over the 49 bundled RELION tutorial movies
    and about 0.5 over the tilt movies (tilts mixed). With 0.2, normal
    movies have a max frame shift of 1-3 A and a total travel of 15-40 A
    (1st-99th percentiles).
    """
    rng = np.random.default_rng(seed)
    n_outliers = int(round(outlier_fraction * n_movies))
    kinds = np.array([''] * n_movies, dtype=object)
    outlier_ids = rng.choice(n_movies, size=n_outliers, replace=False)
    kinds[outlier_ids] = rng.choice(['jump', 'drift'], size=n_outliers)
    frames = np.arange(1, n_frames)
    trajectories = []
    for index in range(n_movies):
        step_length = 0.5 + 1.5 * np.exp(-frames / 4.0)
        step_length *= rng.uniform(0.8, 1.2, size=frames.size)
        if motion_spread:
            step_length *= np.exp(rng.normal(0.0, motion_spread))
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(
            rng.normal(0, 0.5, size=frames.size))
        steps = np.stack([np.cos(heading), np.sin(heading)], axis=1)
        steps *= step_length[:, None]
        if kinds[index] == 'jump':
            angle = rng.uniform(0, 2 * np.pi)
            frame = rng.integers(0, frames.size)
            steps[frame] += rng.uniform(15, 60) * np.array(
                [np.cos(angle), np.sin(angle)])
        elif kinds[index] == 'drift':
            angle = rng.uniform(0, 2 * np.pi)
            steps += rng.uniform(1.5, 3.0) * np.array(
                [np.cos(angle), np.sin(angle)])
        shifts = np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)]) / pixel_size
        trajectories.append({
            'name': 'walk_%06d' % (index + 1),
            'pixel_size_A': pixel_size,
            'shift_x_px': shifts[:, 0].tolist(),
            'shift_y_px': shifts[:, 1].tolist(),
            'outlier': kinds[index],
        })
    return trajectories
