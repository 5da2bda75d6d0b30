"""Scipion's real GUI on a finished run, in a virtual display, as a
microscopist uses it: the project window (`./dev gui`'s command), the
protocol form (rule-dependent fields, the automatic thresholds without
scrolling), the viewer and every window it opens (histograms, dose
histograms, scatter plot, trajectories, the Qt set viewer).

Clicks and keys go through xdotool like a user's; tests/gui_driver.py runs
the project app and reports what the windows show. Each window is
screenshot into MAXSHIFT_GUI_SCREENSHOTS (default build/gui-screenshots/,
printed at the end of the run). The test fails on a traceback in the GUI's
output, a window that does not appear (waited for up to WAIT s: a slow
machine waits, it does not fail) or a blank screenshot; it is skipped only
when Xvfb, xdotool or ImageMagick are missing (.ci/run installs them).

    ./dev test -m gui
"""
import json
import os
import queue
import select
import shutil
import subprocess
import sys
import threading
import time

import pytest

from xmipp3.maxshift.batch import launch, new_maxshift, new_simulation

pytestmark = pytest.mark.gui

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, 'gui_driver.py')
SCREENSHOTS = os.environ.get('MAXSHIFT_GUI_SCREENSHOTS') or os.path.join(
    HERE, '..', 'build', 'gui-screenshots')
TOOLS = {'Xvfb': 'xvfb', 'xdotool': 'xdotool', 'import': 'imagemagick'}
SCREEN = '1600x1200x24'
WAIT = 120  # seconds for a window, an answer or a state to come
# The first start in a new environment compiles every module it imports
# (-O has its own .pyc files): two minutes and more on a busy machine.
STARTUP_WAIT = 900
PROJECT = 'maxshift-gui'


# -------------------------- Fixtures -----------------------------------------
@pytest.fixture(scope='module')
def display():
    """A virtual X display of our own (a free number, chosen by Xvfb)."""
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        pytest.skip('the GUI test needs %s (Debian: apt-get install %s; '
                    '.ci/run installs them)' % (', '.join(missing),
                                                ' '.join(TOOLS[t] for t in missing)))
    server = subprocess.Popen(['Xvfb', '-displayfd', '1', '-screen', '0', SCREEN,
                               '-nolisten', 'tcp'], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    ready, _, _ = select.select([server.stdout], [], [], WAIT)
    number = server.stdout.readline().strip() if ready else ''
    if not number.isdigit():
        server.kill()
        pytest.skip('Xvfb did not start a display')
    yield ':' + number
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope='module')
def finished_run():
    """A project of its own with the demo's run: the 266 real trajectories
    through movie maxshift with its default settings."""
    import scipion_headless
    cwd = os.getcwd()
    try:
        project = scipion_headless.open_project(
            PROJECT, os.path.join(os.environ['SCIPION_USER_DATA'], 'projects'))
        sim = launch(project, new_simulation(project, batchSize=1000), wait=True)
        assert sim.getStatus() == 'finished', sim.getErrorMessage()
        maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5),
                          wait=True)
        assert maxshift.getStatus() == 'finished', maxshift.getErrorMessage()
    finally:
        os.chdir(cwd)
    return project, maxshift


@pytest.fixture(scope='module')
def screenshots(request):
    folder = os.path.abspath(SCREENSHOTS)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith('.png'):
            os.remove(os.path.join(folder, name))
    request.config.maxshiftGuiScreenshots = folder  # printed at the end
    return folder


# -------------------------- The GUI, driven ----------------------------------
class Gui:
    """The project window's process (tests/gui_driver.py), xdotool and
    screenshots on one display."""

    def __init__(self, display, projectName, folder):
        self.environment = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM='xcb')
        self.folder = folder
        self.started = time.time()
        self.output = []  # everything the GUI printed
        self.replies = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, '-O', DRIVER, projectName], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=self.environment)
        threading.Thread(target=self._read, daemon=True).start()
        self.reply(STARTUP_WAIT)  # the window is up
        self.children = []  # windows of other processes (the set viewer)

    def _read(self):
        for line in self.process.stdout:
            if line.startswith('@@ '):
                self.replies.put(json.loads(line[3:]))
            else:
                self.output.append(line)
        self.replies.put({'error': 'the GUI exited (%s)' % self.process.poll()})

    def reply(self, timeout=WAIT):
        try:
            answer = self.replies.get(timeout=timeout)
        except queue.Empty:
            answer = {'error': 'no answer in %d s' % timeout}
        if 'error' in answer:
            pytest.fail('%s\nGUI output:\n%s' % (answer['error'], self.tail()))
        return answer

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + '\n')
        self.process.stdin.flush()
        return self.reply()

    def until(self, condition, what):
        """The form's state once condition(state) holds."""
        deadline = time.time() + WAIT
        while True:
            state = self.ask(do='state')
            if condition(state):
                return state
            if time.time() > deadline:
                pytest.fail('%s did not happen in %d s' % (what, WAIT))
            time.sleep(0.2)

    def xdotool(self, *arguments, timeout=30):
        return subprocess.run(['xdotool'] + [str(a) for a in arguments],
                              env=self.environment, capture_output=True,
                              text=True, timeout=timeout).stdout.strip()

    def window(self, pattern):
        """Id of the visible window whose name matches, waiting for it."""
        try:
            found = self.xdotool('search', '--sync', '--onlyvisible', '--name',
                                 pattern, timeout=WAIT).split()
        except subprocess.TimeoutExpired:
            found = []
        if not found:
            pytest.fail('no window %r appeared in %d s\nGUI output:\n%s'
                        % (pattern, WAIT, self.tail()))
        return found[-1]

    def gone(self, pattern):
        deadline = time.time() + WAIT
        while self.xdotool('search', '--onlyvisible', '--name', pattern):
            if time.time() > deadline:
                pytest.fail('window %r is still open' % pattern)
            time.sleep(0.2)

    def click(self, where):
        self.xdotool('mousemove', where['cx'], where['cy'], 'click', '1')

    def keys(self, *keys):
        self.xdotool('key', '--delay', '80', *keys)

    def screenshot(self, windowId, name, pointer=False):
        """Screenshot of a window, retaken until it is drawn (not blank);
        the mouse pointer moved off it, unless pointer."""
        print('%6.1f s  %s' % (time.time() - self.started, name))
        path = os.path.join(self.folder, name + '.png')
        deadline = time.time() + WAIT
        width, height = (int(size) for size in SCREEN.split('x')[:2])
        if not pointer:
            self.xdotool('mousemove', width - 1, height - 1)  # no tooltip in it
        while True:
            self.xdotool('windowraise', windowId)
            time.sleep(0.3)
            subprocess.run(['import', '-window', windowId, path], env=self.environment,
                           capture_output=True, timeout=WAIT)
            problem = blank(path)
            if not problem:
                return path
            if time.time() > deadline:
                pytest.fail('screenshot %s is blank: %s' % (path, problem))
            time.sleep(0.5)

    def tail(self, lines=60):
        return ''.join(self.output[-lines:])

    def close(self):
        for pid in self.children:
            try:
                os.kill(pid, 15)
            except OSError:
                pass
        if self.process.poll() is None:
            try:
                self.ask(do='quit')
                self.process.wait(30)
            except Exception:
                self.process.kill()
                self.process.wait(30)


def blank(path):
    """Why a screenshot looks blank ('' if it does not): unreadable, or
    (almost) one colour."""
    from PIL import Image
    try:
        image = Image.open(path).convert('RGB')
    except (OSError, ValueError) as error:
        return 'unreadable (%s)' % error
    colours = image.getcolors(maxcolors=4096)
    if colours is None:
        return ''  # thousands of colours
    pixels = image.width * image.height
    if len(colours) < 8 or max(count for count, _ in colours) > 0.98 * pixels:
        return '%d colours, the commonest on %.1f %% of it' % (
            len(colours), 100.0 * max(count for count, _ in colours) / pixels)
    return ''


def shown(state):
    return {name for name, param in state['params'].items() if param['shown']}


def cut(state):
    return {name for name, param in state['params'].items() if param['cut']}


# -------------------------- The test -----------------------------------------
def test_a_finished_run_in_scipions_windows(display, finished_run, screenshots):
    project, maxshift = finished_run
    started = time.time()
    gui = Gui(display, PROJECT, screenshots)
    try:
        # The project window, the run selected as a user clicks it
        window = gui.window('^%s ' % PROJECT)
        box = gui.ask(do='run-box')
        gui.click(box)
        deadline = time.time() + WAIT
        while not gui.ask(do='run-box')['selected'] and time.time() < deadline:
            time.sleep(0.2)
        gui.screenshot(window, '01-project-window')

        # The protocol form: which fields each rule shows
        gui.ask(do='form')
        form = gui.window('Protocol Run: XmippProtMovieMaxShift')
        state = gui.ask(do='state')
        assert {'rejType', 'maxFrameShift', 'maxMovieShift'} <= shown(state)
        assert 'pollInterval' not in shown(state)  # an expert parameter
        assert state['params']['rejType']['value'] == 'by frame or movie'
        gui.screenshot(form, '02-form')
        for keys, rule, fields in (
                (('Up', 'Up'), 'by whole movie', ('maxMovieShift', 'maxFrameShift')),
                (('Up',), 'by frame', ('maxFrameShift', 'maxMovieShift'))):
            gui.click(state['params']['rejType']['combo'])
            gui.keys(*keys, 'Return')
            state = gui.until(lambda s, rule=rule: s['params']['rejType']['value'] == rule,
                              'choosing the rule %r' % rule)
            used, unused = fields
            assert used in shown(state) and unused not in shown(state), rule
            gui.screenshot(form, '03-form-rule-%s' % rule.replace(' ', '-'))
        for name, screenshot in (('doseCutoff', '04-form-optional-criteria'),
                                 ('useAutoThresholds', '05-form-automatic-thresholds')):
            gui.click(state['tabs'][state['params'][name]['tab']])
            state = gui.until(lambda s, name=name: s['params'][name]['onTab'],
                              'the tab of %s showing' % name)
            assert not cut(state), 'fields cut at the bottom: %s' % cut(state)
            gui.screenshot(form, screenshot)
        # with automatic thresholds, their fields show, and all fit
        gui.click(state['params']['useAutoThresholds']['radios']['Yes'])
        state = gui.until(lambda s: {'autoWarmup', 'autoK'} <= shown(s),
                          'the automatic thresholds\' fields showing')
        assert not cut(state), 'fields cut at the bottom: %s' % cut(state)
        gui.screenshot(form, '06-form-automatic-thresholds-yes')
        gui.ask(do='close-form')
        gui.gone('Protocol Run: XmippProtMovieMaxShift')

        # The viewer, and every window it opens
        gui.ask(do='viewer')
        viewer = gui.window('Protocol Viewer: XmippMovieMaxShiftViewer')
        state = gui.ask(do='state')
        histograms = state['params']['histogramMetrics']
        assert max(histograms['choiceWidths']) + 24 <= histograms['combo']['w'], \
            'a choice of "Histograms of" does not fit its box'
        gui.screenshot(viewer, '07-viewer')
        run = maxshift.getRunName()

        def show(param, title, name, then=None):
            gui.click(state['params'][param]['buttons']['Visualize'])
            plot = gui.window('^%s: %s$' % (run, title))
            gui.screenshot(plot, name)
            if then:
                then(plot)
            gui.ask(do='close-plots')
            gui.gone(': %s$' % title)

        def hoverOn89(plot):
            """The pointer on the failed alignment names it."""
            where = gui.ask(do='scatter-movie', id=89)
            gui.xdotool('mousemove', where['cx'], where['cy'])
            deadline = time.time() + WAIT
            while not gui.ask(do='scatter-movie', id=89)['hover']:
                if time.time() > deadline:
                    pytest.fail('no movie named under the mouse pointer')
                time.sleep(0.2)
            assert gui.ask(do='scatter-movie', id=89)['hover'] == [
                'id 89: 755 Å, 2422 Å (discarded)']
            gui.screenshot(plot, '10-scatter-pointer-on-movie-89', pointer=True)
        show('displayHistograms', 'motion histograms', '08-histograms')
        gui.click(histograms['combo'])
        gui.keys('Down', 'Return')
        state = gui.until(lambda s: s['params']['histogramMetrics']['value']
                          == 'early/late motion, first-third step',
                          'choosing the dose histograms')
        show('displayHistograms', 'early and late motion histograms',
             '09-dose-histograms')
        show('displayScatter', 'motion scatter plot', '10-scatter', then=hoverOn89)
        show('displayTrajectories', 'trajectories', '11-trajectories')
        gui.click(state['params']['outputSet']['buttons']['Visualize'])
        sets = gui.window('^Metadata: movies_accepted.sqlite')
        pid = gui.xdotool('getwindowpid', sets)
        if pid.isdigit():
            gui.children.append(int(pid))
        gui.screenshot(sets, '12-set-viewer')
    finally:
        gui.close()
    output = gui.tail(lines=10 ** 6)
    print('GUI test: %.0f s, screenshots in %s' % (time.time() - started, screenshots))
    assert 'Traceback (most recent call last)' not in output, output
    assert len([name for name in os.listdir(screenshots) if name.endswith('.png')]) == 14
