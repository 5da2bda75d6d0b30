"""The movie maxshift viewer, found the way Scipion finds viewers and
producing each of its views without a display, on a real finished run."""
import numpy as np
import pytest
from pyworkflow.plugin import Domain
from pyworkflow.viewer import DESKTOP_TKINTER, WEB_DJANGO, MessageView

from xmipp3.maxshift import plots
from xmipp3.maxshift.batch import launch, new_maxshift, new_simulation, output_items
from xmipp3.protocols import XmippProtMovieMaxShift
from xmipp3.maxshift.names import (
    ATTR_DISCARD_REASON, ATTR_MAX_FRAME_SHIFT, ATTR_TOTAL_TRAVEL, OUTPUT_MOVIES,
    OUTPUT_MOVIES_DISCARDED)
from maxshift_checks import along_x, run_static
from test_plots import axes_by_gid, bar_counts, legend_labels, scatter_points
from xmipp3.viewers import XmippMovieMaxShiftViewer
from xmipp3.viewers.viewer_movie_max_shift import OUTPUT_SETS


@pytest.fixture(scope='module')
def finished(project):
    sim = launch(project, new_simulation(project, source=1, numberOfMovies=30,
                                         batchSize=1000, outlierFraction=0.3,
                                         seed=5), wait=True)
    assert sim.getStatus() == 'finished', sim.getErrorMessage()
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5),
                      wait=True)
    assert maxshift.getStatus() == 'finished', maxshift.getErrorMessage()
    return maxshift


def viewer_of(project, protocol):
    viewer = XmippMovieMaxShiftViewer(project=project, protocol=protocol)
    viewer.setProtocol(protocol)  # defines the form, as Scipion does
    return viewer


def movies_of(protocol):
    return {movie.getObjId(): movie
            for name in (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
            for movie in output_items(protocol, name)}


def test_scipion_finds_this_viewer_for_the_protocol():
    for environment in (DESKTOP_TKINTER, WEB_DJANGO):
        byName = Domain.findViewers(XmippProtMovieMaxShift.getClassName(), environment)
        assert byName[:1] == [XmippMovieMaxShiftViewer]
        assert Domain.findViewers(XmippProtMovieMaxShift(), environment)[:1] \
            == [XmippMovieMaxShiftViewer]
    assert XmippMovieMaxShiftViewer in Domain.getViewers().values()


def test_figures_are_made_without_a_display_and_count_the_output_sets(project, finished):
    viewer = viewer_of(project, finished)
    accepted = len(output_items(finished, OUTPUT_MOVIES))
    discarded = len(output_items(finished, OUTPUT_MOVIES_DISCARDED))
    assert accepted and discarded
    histograms = viewer._histogramFigure()
    scatter = viewer._scatterFigure()
    for figure in (histograms, scatter, viewer._trajectoryFigure()):
        assert figure.canvas.manager is None  # no window, no pyplot figure
    for gid in (plots.GID_FRAME_HISTOGRAM, plots.GID_TRAVEL_HISTOGRAM):
        assert bar_counts(axes_by_gid(histograms)[gid]) == {'accepted': accepted,
                                                            'discarded': discarded}
    points = scatter_points(axes_by_gid(scatter)[plots.GID_SCATTER])
    assert (len(points['accepted']), len(points['discarded'])) == (accepted, discarded)
    assert 'rule %s' % XmippProtMovieMaxShift.REJ_TYPES[finished.rejType.get()] \
        in scatter._suptitle.get_text()


def test_default_trajectories_are_the_most_travelled_discarded_and_a_typical_accepted(
        project, finished):
    movies = movies_of(finished)
    travel = {i: m.getAttributeValue(ATTR_TOTAL_TRAVEL) for i, m in movies.items()}
    dropped = sorted((i for i, m in movies.items() if not m.isEnabled()),
                     key=lambda i: -travel[i])
    kept = [i for i, m in movies.items() if m.isEnabled()]
    median = np.median([travel[i] for i in kept])
    typical = min(kept, key=lambda i: (abs(travel[i] - median), i))
    expected = dropped[:3] + [typical]

    figure = viewer_of(project, finished)._trajectoryFigure()
    assert len(figure.axes) == 4
    for axes, movieId in zip(figure.axes, expected):
        movie = movies[movieId]
        assert axes.get_title().startswith('%s (id %d)\n%s' % (
            movie.getMicName(), movieId,
            'accepted' if movie.isEnabled() else 'discarded'))
        assert '%.2f Å' % movie.getAttributeValue(ATTR_MAX_FRAME_SHIFT) in axes.get_title()
        xshifts, yshifts = movie.getAlignment().getShifts()
        path = axes.get_lines()[0]
        rate = movie.getSamplingRate()
        assert np.allclose(path.get_xdata(), (np.array(xshifts) - xshifts[0]) * rate)
        assert np.allclose(path.get_ydata(), (np.array(yshifts) - yshifts[0]) * rate)


def test_chosen_trajectories_by_id_or_micname_and_unknown_ones_reported(project, finished):
    movies = movies_of(finished)
    first, second = sorted(movies)[-1], sorted(movies)[0]
    viewer = viewer_of(project, finished)
    viewer.trajectoryMovies.set('%d, %s' % (first, movies[second].getMicName()))
    titles = [axes.get_title() for axes in viewer._trajectoryFigure().axes]
    assert [title.split('\n')[0] for title in titles] == [
        '%s (id %d)' % (movies[i].getMicName(), i) for i in (first, second)]

    viewer.trajectoryMovies.set('%d no_such_movie.mrc' % first)
    error, plotter = viewer._getVisualizeDict()['displayTrajectories']('displayTrajectories')
    assert isinstance(error, MessageView)
    assert 'no_such_movie.mrc' in error.getMessage()
    assert len(plotter.getFigure().axes) == 1


def test_each_button_gives_a_view_and_plots_wrap_the_viewer_figures(project, finished):
    viewer = viewer_of(project, finished)
    views = viewer._getVisualizeDict()
    assert set(views) == {'displayHistograms', 'displayScatter', 'displayFrames',
                          'displayTrajectories', 'outputSet'}
    expectedAxes = {'displayHistograms': {plots.GID_FRAME_HISTOGRAM, plots.GID_TRAVEL_HISTOGRAM},
                    'displayScatter': {plots.GID_SCATTER},
                    'displayFrames': {plots.GID_FRAME_PROFILE, plots.GID_DIRECTIONS},
                    'displayTrajectories': {plots.GID_TRAJECTORY}}
    for name, gids in expectedAxes.items():
        plotter, = views[name](name)  # shown only by plotter.show(), not here
        assert set(axes_by_gid(plotter.getFigure())) == gids
    for index, (name, _) in enumerate(OUTPUT_SETS):
        viewer.outputSet.set(index)
        view, = views['outputSet']('outputSet')
        command = view.command()
        assert command[1:3] == ['-m', 'metadataviewer']
        assert getattr(finished, name).getFileName() in command
        render = command[command.index('--renderlabels') + 1]
        assert render == ('no' if 'Movies' in name else '_filename')


def metadata_viewer_columns(command):
    """Columns of the items' table as Scipion's metadata viewer lays them
    out for this command line: name -> visible."""
    from metadataviewer.__main__ import defineArgs
    from metadataviewer.model import ObjectManager
    from pwem.viewers.mdviewer.readers import extendMDViewer
    from pwem.viewers.mdviewer.sqlite_dao import ScipionSetsDAO
    args, _ = defineArgs().parse_known_args(command[3:])
    extendMDViewer(ObjectManager)
    manager = ObjectManager()
    manager.setVisibleLabels(args.visiblelabels.split(' '))
    dao = ScipionSetsDAO(args.fileName)
    tables = dao.getTables()
    items = tables['objects'] if 'objects' in tables else tables[sorted(tables)[0]]
    dao.fillTable(items, manager)
    return {column.getName(): column.isVisible() for column in items.getColumns()}


def test_sets_open_in_scipions_metadata_viewer_with_the_motion_columns_shown(
        project, finished):
    viewer = viewer_of(project, finished)
    for index, (name, _) in enumerate(OUTPUT_SETS):
        viewer.outputSet.set(index)
        view, = viewer._getVisualizeDict()['outputSet']('outputSet')
        columns = metadata_viewer_columns(view.command())
        shown = {column for column, visible in columns.items() if visible}
        assert {'id', 'enabled', '_micName', ATTR_MAX_FRAME_SHIFT, ATTR_TOTAL_TRAVEL,
                ATTR_DISCARD_REASON} <= shown, (name, columns)


def test_a_protocol_not_run_yet_shows_empty_plots_and_no_sets(project):
    protocol = project.newProtocol(XmippProtMovieMaxShift)
    project.saveProtocol(protocol)
    viewer = viewer_of(project, protocol)
    figure = viewer._histogramFigure()
    assert figure._suptitle.get_text().startswith(plots.NO_MOVIES.capitalize())
    assert len(viewer._trajectoryFigure().axes) == 1
    message, = viewer._getVisualizeDict()['outputSet']('outputSet')
    assert isinstance(message, MessageView)
    assert 'no accepted movies yet' in message.getMessage().lower()


def test_trajectories_number_the_movies_aligned_frames(project, tmp_json):
    dropped = dict(along_x('dropped', [1, 1, 5, 1]), aligned_frames=[3, 7])
    mismatch = dict(along_x('mismatch', [1, 1, 5, 1]), aligned_frames=[1, 40])
    _, maxshift = run_static(project, tmp_json, [dropped, mismatch])
    viewer = viewer_of(project, maxshift)
    viewer.trajectoryMovies.set('1 2')
    numbered, unnumbered = viewer._trajectoryFigure().axes
    assert legend_labels(numbered) == ['frame 3', 'frame 7', 'largest step, frames 5-6']
    assert legend_labels(unnumbered) == ['shift 1', 'shift 5', 'largest step, shifts 3-4']
