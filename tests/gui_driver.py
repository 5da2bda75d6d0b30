"""Scipion's project window, as `./dev gui` opens it, with a remote control
for the GUI test (tests/test_gui.py).

    python -O tests/gui_driver.py PROJECT_NAME

runs pyworkflow's project app (`pyworkflow.apps.pw_project`) unchanged and,
once its window is up, reads commands from stdin, one JSON object a line,
and answers each on stdout with a line '@@ <JSON>'. Everything else the GUI
prints goes where it would (stdout, stderr). The commands only open windows
the way the project window's own buttons do and report what a user would
see (which fields show, where the widgets are); the test clicks and types
with xdotool like a user.
"""
import json
import os
import queue
import sys
import threading
import tkinter as tk
import tkinter.font as tkfont
from tkinter import ttk

from pyworkflow.gui.project import ProjectWindow  # before .form (a cycle)
from pyworkflow.gui.form import FormWindow, ParamWidget  # noqa: E402

REPLY = '@@ '
POLL_MS = 50

windows = {'project': None, 'forms': []}
commands = queue.Queue()


def reply(**answer):
    sys.stdout.write(REPLY + json.dumps(answer) + '\n')
    sys.stdout.flush()


def geometry(widget):
    """Screen box of a widget and its centre."""
    widget.update_idletasks()
    x, y = widget.winfo_rootx(), widget.winfo_rooty()
    w, h = widget.winfo_width(), widget.winfo_height()
    return {'x': x, 'y': y, 'w': w, 'h': h, 'cx': x + w // 2, 'cy': y + h // 2}


def descendants(widget):
    for child in widget.winfo_children():
        yield child
        yield from descendants(child)


def maxshift_run(project):
    from xmipp3.protocols import XmippProtMovieMaxShift
    return [run for run in project.getRuns()
            if isinstance(run, XmippProtMovieMaxShift)][-1]


def notebook_of(form):
    return next(w for w in descendants(form.root) if isinstance(w, ttk.Notebook))


def tabs_of(form):
    """Label -> centre of each tab of the form's notebook."""
    notebook = notebook_of(form)
    notebook.update_idletasks()
    found = {}
    for x in range(2, notebook.winfo_width(), 3):
        for y in range(3, 30, 3):
            try:
                index = notebook.index('@%d,%d' % (x, y))
            except tk.TclError:
                continue
            label = notebook.tab(index, 'text')
            found.setdefault(label, (x, y))
    return {label: {'cx': notebook.winfo_rootx() + x + 6,
                    'cy': notebook.winfo_rooty() + y + 4}
            for label, (x, y) in found.items()}


def param_state(form, name):
    """What the form shows of one parameter."""
    widget = form.widgetDict[name]
    state = {'shown': bool(widget.content.winfo_manager())}
    state.update(geometry(widget.content))
    # on the tab shown: below the visible part of its section?
    canvas = widget.parent.master  # the section's scrolled canvas
    view = geometry(canvas)
    notebook = notebook_of(form)
    state['tab'] = next(notebook.tab(tab, 'text') for tab in notebook.tabs()
                        if str(widget.content).startswith(tab + '.'))
    state['onTab'] = str(widget.content).startswith(notebook.select() + '.')
    state['cut'] = bool(state['shown'] and state['onTab']
                        and state['y'] + state['h'] > view['y'] + view['h'])
    for child in descendants(widget.content):
        if isinstance(child, ttk.Combobox):
            state['combo'] = geometry(child)
            state['value'] = child.get()
            font = tkfont.Font(font=child.cget('font'))
            state['choiceWidths'] = [font.measure(c) for c in child.cget('values')]
        elif isinstance(child, tk.Radiobutton):
            state.setdefault('radios', {})[child.cget('text')] = geometry(child)
    if widget.btnFrame is not None:
        for button in widget.btnFrame.winfo_children():
            if isinstance(button, tk.Button):
                state.setdefault('buttons', {})[button.cget('text')] = geometry(button)
    return state


def form_state(form):
    params = [name for name, widget in form.widgetDict.items()
              if type(widget) is ParamWidget]  # not groups nor lines
    return {'title': form.root.title(), 'tabs': tabs_of(form),
            'params': {name: param_state(form, name) for name in params}}


def scatter_movie(movieId):
    """Screen position of a movie's marker on the open scatter plot, and
    the hover texts shown."""
    import matplotlib.pyplot as plt
    from xmipp3.maxshift import plots
    for number in plt.get_fignums():
        figure = plt.figure(number)
        for axes in figure.axes:
            if axes.get_gid() != plots.GID_SCATTER:
                continue
            tips = [text.get_text() for text in axes.texts
                    if text.get_gid() == plots.GID_HOVER and text.get_visible()]
            for points in axes.collections:
                movies = getattr(points, 'movies', None)
                if movies is not None and movieId in list(movies[0]):
                    index = list(movies[0]).index(movieId)
                    x, y = axes.transData.transform(points.get_offsets()[index])
                    widget = figure.canvas.get_tk_widget()
                    return (int(widget.winfo_rootx() + x),
                            int(widget.winfo_rooty() + figure.bbox.height - y), tips)
    raise LookupError('movie %s is not on a scatter plot' % movieId)


def handle(command):
    project = windows['project']
    action = command['do']
    if action == 'project':
        reply(title=project.root.title())
    elif action == 'run-box':  # where the run's box is in the runs graph
        view = project.getViewWidget()
        run = maxshift_run(project.project)
        item = view.runsGraph.getNode(str(run.getObjId())).item
        canvas = view.runsGraphCanvas
        x1, y1, x2, y2 = item.getCorners()
        reply(cx=int(canvas.winfo_rootx() + (x1 + x2) / 2 - canvas.canvasx(0)),
              cy=int(canvas.winfo_rooty() + (y1 + y2) / 2 - canvas.canvasy(0)),
              selected=view.getSelectedProtocol() is not None
              and view.getSelectedProtocol().getObjId() == run.getObjId())
    elif action == 'summary':  # the run's summary as shown, and as made
        view = project.getViewWidget()
        reply(shown=view.summaryText.getText(),
              made=maxshift_run(project.project).summary())
    elif action == 'form':  # as a click on 'movie maxshift' in the tree does
        from xmipp3.protocols import XmippProtMovieMaxShift
        view = project.getViewWidget()
        project.root.after_idle(lambda: view._openProtocolForm(
            project.project.newProtocol(XmippProtMovieMaxShift)))
        reply(ok=True)
    elif action == 'viewer':  # as 'Analyze Results' on the finished run does
        view = project.getViewWidget()
        run = maxshift_run(project.project)
        project.root.after_idle(lambda: view._analyzeResults(run, None))
        reply(ok=True, run=run.getRunName())
    elif action == 'state':
        form = windows['forms'][-1]
        reply(**form_state(form))
    elif action == 'close-form':
        windows['forms'].pop().close()
        reply(ok=True)
    elif action == 'scatter-movie':  # where a movie's marker is on screen
        x, y, tips = scatter_movie(command['id'])
        reply(cx=x, cy=y, hover=tips)
    elif action == 'close-plots':
        import matplotlib.pyplot as plt
        plt.close('all')
        reply(ok=True)
    elif action == 'quit':
        reply(ok=True)
        os._exit(0)
    else:
        reply(error='unknown command %r' % action)


def poll():
    """Run the commands that came in, then look again."""
    root = windows['project'].root
    root.after(POLL_MS, poll)  # first: a handler may start a nested loop
    while not commands.empty():
        command = commands.get()
        try:
            handle(command)
        except Exception as error:  # the test shows it, with what it asked
            import traceback
            traceback.print_exc()
            reply(error='%s: %s' % (type(error).__name__, error))


def readCommands():
    for line in sys.stdin:
        if line.strip():
            commands.put(json.loads(line))
    os._exit(1)  # the test is gone: so is its window


def main(projectName):
    projectShow = ProjectWindow.show
    formShow = FormWindow.show

    def showProject(self, *args, **kwargs):
        windows['project'] = self
        threading.Thread(target=readCommands, daemon=True).start()
        self.root.after(POLL_MS, poll)
        reply(ready=True)
        return projectShow(self, *args, **kwargs)

    def showForm(self, *args, **kwargs):
        windows['forms'].append(self)
        return formShow(self, *args, **kwargs)
    ProjectWindow.show = showProject
    FormWindow.show = showForm
    import runpy
    sys.argv = ['pw_project.py', projectName]
    runpy.run_module('pyworkflow.apps.pw_project', run_name='__main__')


if __name__ == '__main__':
    main(sys.argv[1])
