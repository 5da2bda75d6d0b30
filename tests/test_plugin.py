"""The plugin as Scipion sees it: entry point, Plugin class, GUI tree,
citations and the drop-in compatibility of the protocol's definition."""
import os

import pwem
import pytest
import pyworkflow as pw
import pyworkflow.protocol.params as params
from pyworkflow.gui.project.viewprotocols_extra import ProtocolTreeConfig

import xmipp3
from xmipp3.protocols import XmippProtMovieMaxShift, XmippProtSimulateAlignedMovies


def test_plugin_is_discovered_through_its_entry_point():
    domain = pw.Config.getDomain()
    assert 'xmipp3' in domain.getPlugins()
    assert domain.findClass('XmippProtMovieMaxShift') is XmippProtMovieMaxShift
    assert domain.findClass('XmippProtSimulateAlignedMovies') is XmippProtSimulateAlignedMovies


@pytest.mark.standalone
def test_plugin_defines_no_binaries_and_inherits_none():
    class RecordingEnvironment:
        def __init__(self):
            self.calls = []

        def __getattr__(self, name):
            return lambda *args, **kwargs: self.calls.append(name)

    environment = RecordingEnvironment()
    xmipp3.Plugin.defineBinaries(environment)
    assert environment.calls == []
    for method in ('defineBinaries', 'getEnviron', '_defineVariables'):
        assert method in vars(xmipp3.Plugin), method


@pytest.mark.standalone
def test_xmipps_java_viewer_asked_of_the_standalone_plugin_says_what_to_do(project):
    """Right-click -> "Xmipp" on a set: pwem asks the xmipp3 plugin for
    Xmipp's environment (getEnviron(xmippFirst=False)) before starting Java;
    the GUI shows the exception's message in a dialog."""
    import pwem.objects as emobj
    from pwem.viewers import ObjectView
    movies = emobj.SetOfMovies(filename=os.path.join(project.path, 'Tmp', 'any_movies.sqlite'))
    movies.write()
    with pytest.raises(xmipp3.XmippNotInstalled) as raised:
        ObjectView(project, '1', movies.getFileName()).show()
    message = str(raised.value)
    assert 'Xmipp is not installed' in message and 'right-click -> "Scipion"' in message


def test_protocol_appears_under_movies_and_the_simulator_in_its_own_section():
    tree = ProtocolTreeConfig.load(
        pw.Config.getDomain(),
        os.path.join(os.path.dirname(pwem.__file__), 'protocols.conf'))

    def paths(node, path=()):
        for child in node.childs:
            yield path + (child.text,), getattr(child, 'value', None)
            yield from paths(child, path + (child.text,))
    found = {value: path for path, value in paths(tree['Protocols SPA'])}
    # Xmipp lists it in Movies; the standalone plugin in Movies > Quality control
    assert found['XmippProtMovieMaxShift'][0] == 'Movies'
    assert found["XmippProtSimulateAlignedMovies"] == ("Simulators (tests and demos)", "default")


def test_the_protocol_tree_lists_each_protocol_once_per_folder():
    # A protocol twice in one folder stops the project window filling its
    # tree ("Item ... already exists"), as scipion-em-xmipp 29.0.1's CL2D did
    # when its folders came first (the order depends on what is imported).
    # The plugin's file read first, as it is then:
    tree = ProtocolTreeConfig.load(
        pw.Config.getDomain(),
        os.path.join(os.path.dirname(xmipp3.__file__), 'protocols.conf'))

    def repeated(node, path=()):
        values = [getattr(child, 'value', None) for child in node.childs
                  if getattr(child, 'tag', '') == 'protocol']
        found = {path + (value,) for value in values if values.count(value) > 1}
        for child in node.childs:
            found |= repeated(child, path + (child.text,))
        return found
    assert repeated(tree['Protocols SPA']) == set()

    def values(node):
        return {getattr(node, 'value', None)} | {
            value for child in node.childs for value in values(child)}
    movies, = [child for child in tree['Protocols SPA'].childs if child.text == 'Movies']
    assert 'XmippProtMovieMaxShift' in values(movies)  # the file was read


def test_protocol_cites_a_reference_present_in_the_plugin_bibtex():
    protocol = XmippProtMovieMaxShift()
    citations = ' '.join(protocol.citations())
    assert 'de la Rosa-Trevín et al., Journal of Structural Biology, 2016' in citations
    assert '10.1016/j.jsb.2016.04.010' in citations


def test_definition_is_compatible_with_the_xmipp_protocol():
    protocol = XmippProtMovieMaxShift
    assert protocol._label == 'movie maxshift'
    assert (protocol.REJ_FRAME, protocol.REJ_MOVIE, protocol.REJ_AND,
            protocol.REJ_OR) == (0, 1, 2, 3)
    assert protocol.REJ_TYPES == ['by frame', 'by whole movie',
                                  'by frame and movie', 'by frame or movie']
    instance = protocol()
    form = instance.getDefinition()
    assert isinstance(form.getParam('inputMovies'), params.PointerParam)
    assert form.getParam('inputMovies').pointerClass.get() == 'SetOfMovies'
    assert form.getParam('rejType').choices == protocol.REJ_TYPES
    assert instance.rejType.get() == protocol.REJ_OR
    assert instance.maxFrameShift.get() == 10.0
    assert instance.maxMovieShift.get() == 45.0


def test_thresholds_are_shown_only_for_the_rules_that_use_them():
    protocol = XmippProtMovieMaxShift()
    shown = {}
    for rule in range(4):
        protocol.rejType.set(rule)
        shown[rule] = (protocol.evalParamCondition('maxFrameShift'),
                       protocol.evalParamCondition('maxMovieShift'))
    assert shown == {0: (True, False), 1: (False, True), 2: (True, True), 3: (True, True)}


def test_protocol_tests_of_the_plugin_run_with_pyworkflows_test_runner(tmp_path):
    """The tests that travel with the Xmipp patch run as Xmipp's own do
    (`scipion3 tests xmipp3.tests....` calls this runner)."""
    import subprocess
    import sys
    runner = ('from pyworkflow.apps.pw_run_tests import Tester; Tester().main(['
              '"xmipp3.tests.test_protocols_movie_max_shift.TestMovieMaxShiftViewer"])')
    done = subprocess.run([sys.executable, '-c', runner], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert 'run 1 tests' in output, output[-3000:]
    assert 'PASSED  ]\x1b[0m 1 tests' in output, output[-3000:]
    assert 'FAILED' not in output, output[-3000:]


def form_params(protocol):
    """(section label, param name, param) of every parameter of the form."""
    for section in protocol.getDefinition().iterSections():
        for name, param in section.iterParams():
            yield section.getLabel(), name, param


@pytest.mark.parametrize('protocolClass', [XmippProtMovieMaxShift,
                                           XmippProtSimulateAlignedMovies])
def test_units_in_the_form_are_written_as_scipion_writes_them(protocolClass):
    import re
    texts = [text for _, _, param in form_params(protocolClass())
             for text in (param.label.get() or '', param.help.get() or '')]
    assert any('(Å)' in text or '(Å/px)' in text for text in texts)
    for text in texts:
        assert not re.search(r'[\d(] ?A\b|\bA\)|\bin A\b|A/px|e/A2', text), text


def test_protocol_help_reads_as_written_not_with_the_source_indentation():
    text = XmippProtMovieMaxShift.getHelpText()
    paragraphs = text.split('\n\n')
    assert paragraphs[0] == ('Discards aligned movies that moved too much, and '
                             'splits the micrographs made from them the same way.')
    assert len(paragraphs) == 2 and '\n' not in paragraphs[1]
    assert '  ' not in text and 'both in Å' in text


def test_rejection_type_help_gives_one_line_per_rule():
    lines = XmippProtMovieMaxShift().getDefinition().getParam('rejType').help.get().split('\n')
    assert lines[0] == 'Which limits discard a movie:'
    assert [line.split(':')[0] for line in lines[1:5]] == XmippProtMovieMaxShift.REJ_TYPES
    assert lines[5].startswith('Limits are inclusive')


def test_automatic_thresholds_have_a_section_of_their_own():
    sections = {}
    for label, name, _ in form_params(XmippProtMovieMaxShift()):
        sections.setdefault(label, []).append(name)
    assert sections['Optional criteria'] == ['doseCutoff', 'maxEarlyMotion', 'maxLateMotion']
    assert sections['Automatic thresholds'] == ['useAutoThresholds', 'autoWarmup', 'autoK']


@pytest.mark.standalone
def test_standalone_plugin_links_to_scipions_documentation_not_to_xmipps_repository():
    # The form's Help shows it as the protocol's documentation or forum url
    assert XmippProtMovieMaxShift.getUrl() == 'https://scipion-em.github.io/docs/'
