"""The streaming workflow template, read with pyworkflow's own template
machinery as `scipion template` reads it, and loaded into a project."""
import json
import os

import pytest
import pyworkflow as pw
from pyworkflow import VarTypes
from pyworkflow.template import TemplateList

from xmipp3.protocols import XmippProtMovieMaxShift

TEMPLATE = 'movie_maxshift_streaming'
MAXSHIFT_FIELDS = {'rejType': VarTypes.INTEGER, 'maxFrameShift': VarTypes.DECIMAL,
                   'maxMovieShift': VarTypes.DECIMAL}


def plugin_template():
    """The template as the plugin lists it, with its fields parsed."""
    plugin = pw.Config.getDomain().getPlugins()['xmipp3']._pluginInstance
    template, = [t for t in plugin.getTemplates() if t.name == TEMPLATE]
    template.replaceEnvVariables()
    template.parseContent()
    return template


def fields(template):
    return {param.getAlias(): param for param in template.getParams().values()}


def generated_workflow(template):
    """The workflow JSON the template produces with its current values."""
    path = template.createTemplateFile()
    try:
        with open(path) as workflowFile:
            return json.load(workflowFile)
    finally:
        os.remove(path)


def nodes_by_class(workflow):
    return {node['object.className']: node for node in workflow}


def test_the_plugin_offers_the_template_to_scipion():
    found = TemplateList()
    found.addPluginTemplates()
    ids = [template.getObjId() for template in found.templates]
    assert 'xmipp3-%s' % TEMPLATE in ids
    template = plugin_template()
    assert 'MotionCor2' in template.description and 'maxshift' in template.description
    assert '[' not in template.description


def test_maxshift_fields_default_to_the_protocol_defaults():
    defaults = XmippProtMovieMaxShift()
    byAlias = fields(plugin_template())
    for alias, varType in MAXSHIFT_FIELDS.items():
        field = byAlias[alias]
        assert field.getType() == varType.value
        assert field.validate() is None
        assert float(field.getValue()) == getattr(defaults, alias).get()
        assert 'maxshift' in field.getTitle().lower()
    titles = [param.getTitle() for param in plugin_template().getParams().values()]
    assert len(titles) == len(set(titles)), 'field titles are their keys'


def test_unchanged_template_is_a_streaming_chain_import_aligner_maxshift():
    workflow = generated_workflow(plugin_template())
    byId = {node['object.id']: node for node in workflow}
    nodes = nodes_by_class(workflow)
    importNode, maxshift = nodes['ProtImportMovies'], nodes['XmippProtMovieMaxShift']
    alignerId, output = maxshift['inputMovies'].split('.')
    aligner = byId[alignerId]
    assert output == 'outputMovies'
    assert aligner['object.className'] == 'ProtMotionCorr'
    assert aligner['inputMovies'] == '%s.outputMovies' % importNode['object.id']
    assert importNode['dataStreaming'] is True
    defaults = XmippProtMovieMaxShift()
    for alias in MAXSHIFT_FIELDS:
        assert maxshift[alias] == getattr(defaults, alias).get()
    # Every other key is an attribute the protocols really have
    for node, protocol in ((maxshift, defaults),
                           (importNode, pw.Config.getDomain().findClass('ProtImportMovies')())):
        unknown = [key for key in node if not key.startswith('object.')
                   and not hasattr(protocol, key)]
        assert not unknown, '%s: %s' % (node['object.className'], unknown)


def test_values_typed_in_the_fields_end_up_in_the_workflow():
    template = plugin_template()
    chosen = {'rejType': '2', 'maxFrameShift': '7.5', 'maxMovieShift': '33',
              'moviesPattern': 'FoilHole_*.eer', 'gpuList': '0 1',
              'samplingRate': '0.83'}
    for alias, value in chosen.items():
        assert template.setParamValue(alias, value) == 1
    nodes = nodes_by_class(generated_workflow(template))
    maxshift = nodes['XmippProtMovieMaxShift']
    assert (maxshift['rejType'], maxshift['maxFrameShift'],
            maxshift['maxMovieShift']) == (2, 7.5, 33)
    assert nodes['ProtImportMovies']['filesPattern'] == 'FoilHole_*.eer'
    assert nodes['ProtImportMovies']['samplingRate'] == 0.83
    assert nodes['ProtMotionCorr']['gpuList'] == '0 1'


@pytest.mark.parametrize('alias, value', [('maxFrameShift', 'ten'), ('rejType', 'or'),
                                          ('moviesPath', '/no/such/folder')])
def test_values_of_the_wrong_type_are_refused(alias, value):
    template = plugin_template()
    before = fields(template)[alias].getValue()
    with pytest.raises(Exception, match='not compatible'):
        template.setParamValue(alias, value)
    assert fields(template)[alias].getValue() == before


def test_the_generated_workflow_loads_into_a_project_with_the_chosen_values(project):
    template = plugin_template()
    template.setParamValue('rejType', '0')
    template.setParamValue('maxFrameShift', '6.5')
    workflow = generated_workflow(template)
    if 'ProtMotionCorr' not in pw.Config.getDomain().getProtocols():
        # scipion-em-motioncorr is not installed here: stand in pwem's base
        # class of movie aligners, which has the same input.
        for node in workflow:
            if node['object.className'] == 'ProtMotionCorr':
                node['object.className'] = 'ProtAlignMovies'
    loaded = project.loadProtocols(jsonStr=json.dumps(workflow))
    byClass = {prot.getClassName(): prot for prot in loaded.values()}
    maxshift = byClass['XmippProtMovieMaxShift']
    assert (maxshift.rejType.get(), maxshift.maxFrameShift.get(),
            maxshift.maxMovieShift.get()) == (0, 6.5, XmippProtMovieMaxShift().maxMovieShift.get())
    aligner = maxshift.inputMovies.getObjValue()
    assert maxshift.inputMovies.getExtended() == 'outputMovies'
    assert aligner.getObjId() == loaded['40'].getObjId()
    assert aligner.inputMovies.getObjValue().getObjId() == byClass['ProtImportMovies'].getObjId()
    assert byClass['ProtImportMovies'].dataStreaming.get()
