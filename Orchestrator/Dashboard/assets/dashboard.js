// The dashboard's pages: each listens to /events for its view (pushed whenever it changes) and
// redraws its tables in place; charts are Vega-Lite specs made by the server (Reports' chart code).
'use strict';
(function () {
  var body = document.body;
  var view = body.dataset.view, studyName = body.dataset.study, trialId = body.dataset.trial;
  var updates = 0;

  function reportError(text) { document.getElementById('errors').textContent += text + '\n'; }
  window.addEventListener('error', function (e) { reportError('error: ' + e.message + ' (' + e.filename + ':' + e.lineno + ')'); });
  window.addEventListener('unhandledrejection', function (e) { reportError('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)); });

  // el('td', {class: 'num'}, 'text', childNode, ...): text is always set as text, never as HTML.
  function el(tag, attrs) {
    var node = document.createElement(tag);
    for (var key in (attrs || {})) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === 'onclick') node.addEventListener('click', value); else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  function section(id) {
    var node = document.getElementById(id);
    if (!node) { node = el('div', { id: id }); document.getElementById('main').appendChild(node); }
    return node;
  }
  function fill(id) {
    var node = section(id), fragment = document.createDocumentFragment();
    append(fragment, Array.prototype.slice.call(arguments, 1));
    node.replaceChildren(fragment);
    return node;
  }
  function table(header, rows, attrs) {
    return el('table', attrs || {}, el('thead', {}, el('tr', {}, header.map(function (h) { return el('th', {}, h); }))), el('tbody', {}, rows));
  }
  function state(s) { return el('span', { class: 'state state-' + s, 'data-state': s }, s); }
  function studyUrl(name) { return '/studies/' + encodeURIComponent(name); }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    if (seconds >= 3600) return (seconds / 3600).toFixed(1) + ' h';
    if (seconds >= 60) return (seconds / 60).toFixed(1) + ' min';
    return seconds.toFixed(0) + ' s';
  }
  function finished(counts) { return counts.completed + counts.failed + counts.diverged; }
  // Finished trials as segments: completed green, failed and diverged red, cancelled grey, so a study with problems never shows a full green bar.
  function bar(counts, total) {
    function part(cls, n, what) {
      return n ? el('span', { class: 'bar-part ' + cls, 'data-part': what, title: n + ' ' + what, style: 'width:' + (100 * n / total).toFixed(1) + '%' }) : null;
    }
    var done = finished(counts);
    return el('span', { class: 'bar', title: done + '/' + total + ' finished' + (counts.failed + counts.diverged ? ' (' + counts.failed + ' failed, ' + counts.diverged + ' diverged)' : '') },
      total ? [part('bar-completed', counts.completed, 'completed'), part('bar-problem', counts.failed, 'failed'), part('bar-problem', counts.diverged, 'diverged'),
        part('bar-cancelled', counts.cancelled || 0, 'cancelled')] : null);
  }

  // ---- charts ---------------------------------------------------------------------------------
  // The Vega bundles, in order (vega-lite needs vega, vega-embed both), requested after the first view is drawn.
  var loadVega;
  var vegaReady = new Promise(function (resolve) {
    loadVega = function () {
      loadVega = function () {};
      ['vega', 'vega-lite', 'vega-embed'].forEach(function (name) {
        var script = el('script', { src: '/assets/' + name + '.min.js' });
        script.async = false;
        if (name === 'vega-embed') {
          script.onload = function () { resolve(); };
          script.onerror = function () { reportError('could not load ' + name); resolve(); };
        }
        document.head.appendChild(script);
      });
    };
  });
  var drawn = {};  // container id -> {json, view}
  function draw(id, spec) {
    var json = JSON.stringify(spec);
    if (drawn[id] && drawn[id].json === json) return Promise.resolve();
    var entry = drawn[id] = { json: json, view: drawn[id] && drawn[id].view };
    return vegaReady.then(function () {
      if (typeof vegaEmbed !== 'function') { reportError('vega-embed did not load'); return; }
      var container = document.getElementById(id);
      if (!container || drawn[id] !== entry) return;
      return vegaEmbed(container, spec, { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } }).then(function (result) {
        if (entry.view) entry.view.finalize();
        entry.view = result.view;
        container.setAttribute('data-drawn', String(Number(container.getAttribute('data-drawn') || 0) + 1));
      });
    }).catch(function (e) { reportError('chart ' + id + ': ' + (e && e.message || e)); });
  }
  // A section with one chart that stays in place between updates (redrawn only when its spec changed), or a line saying why there is none.
  function chartArea(sectionId, title, chartId, spec, none, note) {
    var box = section(sectionId);
    if (!box.firstChild) box.append(el('h2', {}, title), el('div', { id: sectionId + '-area' }), el('p', { class: 'note', id: sectionId + '-note' }));
    var area = document.getElementById(sectionId + '-area');
    if (spec) {
      if (!document.getElementById(chartId)) { forget(chartId); area.replaceChildren(el('div', { class: 'chart', id: chartId })); }
      draw(chartId, spec);
    } else {
      forget(chartId);
      area.replaceChildren(el('p', { class: 'muted' }, none));
    }
    document.getElementById(sectionId + '-note').textContent = note || '';
  }
  // Curves of every recorded metric; the one drawn is chosen here and kept across updates (per page).
  var liveMetric = {}, lastLive = {};
  function liveArea(sectionId, title, chartId, data, none) {
    lastLive[chartId] = data;
    var box = section(sectionId);
    if (!box.firstChild) box.append(el('h2', {}, title), el('label', { class: 'metric-choice', id: chartId + '-choice' }),
      el('div', { id: sectionId + '-area' }), el('p', { class: 'note', id: sectionId + '-note' }));
    var metrics = data ? data.metrics : [];
    var chosen = liveMetric[chartId];
    if (!chosen || metrics.indexOf(chosen) < 0) chosen = data ? data.default : null;
    var choice = document.getElementById(chartId + '-choice'), wanted = metrics.join('\n');
    if (choice.getAttribute('data-options') !== wanted) {
      choice.setAttribute('data-options', wanted);
      var select = el('select', { id: chartId + '-metric' }, metrics.map(function (m) { return el('option', { value: m }, m); }));
      select.addEventListener('change', function () { liveMetric[chartId] = select.value; liveArea(sectionId, title, chartId, lastLive[chartId], none); });
      choice.replaceChildren.apply(choice, metrics.length ? ['metric ', select] : []);
    }
    var current = document.getElementById(chartId + '-metric');
    if (current && chosen) current.value = chosen;
    chartArea(sectionId, title, chartId, data && chosen ? liveSpec(data, chosen) : null, none, null);
  }
  function liveSpec(data, metric) {
    var rows = data.rows.filter(function (r) { return r.metric === metric; });
    var layers = [{
      mark: { type: 'line', strokeWidth: 1.5, point: rows.length < 200 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'global epoch' },
        y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
        // One colour per trial; trials are named "method, seed k (id)", so a method's trials sit together in the legend.
        color: { field: 'trial', type: 'nominal', title: 'trial (method first)', sort: 'ascending', scale: { scheme: 'tableau20' } },
        tooltip: [{ field: 'trial' }, { field: 'method' }, { field: 'epoch' }, { field: 'value', title: metric }]
      }
    }];
    if (data.phases.length) layers.push({
      data: { values: data.phases }, mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
      encoding: { x: { field: 'epoch', type: 'quantitative' }, tooltip: [{ field: 'trial' }, { field: 'phase' }, { field: 'epoch' }] }
    });
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: 640, height: 280,
      title: metric + ' per epoch ' + data.title + ' (dashed: phase starts)',
      data: { values: rows }, layer: layers
    };
  }
  function forget(id) { if (drawn[id] && drawn[id].view) drawn[id].view.finalize(); delete drawn[id]; }

  // ---- actions --------------------------------------------------------------------------------
  function act(name, what, question) {
    if (!window.confirm(question)) return;
    fill('message-box', el('span', { id: 'message' }, what + '…'));
    fetch(studyUrl(name).replace('/studies/', '/api/studies/') + '/' + what, { method: 'POST', headers: { 'X-Studies-Action': '1' } })
      .then(function (r) { return r.ok ? r.json().then(function (j) { return j.message; }) : r.text(); })
      .then(function (text) { fill('message-box', el('span', { id: 'message' }, text)); })
      .catch(function (e) { reportError(what + ': ' + e.message); });
  }

  // ---- views ----------------------------------------------------------------------------------
  function renderOverview(v) {
    document.getElementById('crumbs').replaceChildren();
    fill('title', el('h1', {}, 'Studies'), el('p', { class: 'muted' }, 'workspace ' + v.workspace + (v.readOnly ? ' · read-only view (studies dashboard)' : ' · studies serve')));
    var rows = v.studies.map(function (s) {
      var done = finished(s.counts);
      return el('tr', { 'data-study': s.name },
        el('td', {}, el('a', { href: studyUrl(s.name) }, s.name), s.cancelled ? el('span', { class: 'muted' }, ' (cancelled)') : null),
        el('td', {}, bar(s.counts, s.total), ' ', done + '/' + s.total),
        v.states.map(function (st) { return el('td', { class: 'num', 'data-count': st }, s.counts[st]); }),
        el('td', { class: 'num' }, duration(s.eta)),
        el('td', {}, new Date(s.updated * 1000).toLocaleString()));
    });
    fill('studies', el('h2', {}, 'Studies'),
      v.studies.length ? table(['study', 'finished'].concat(v.states, ['ETA', 'updated']), rows, { id: 'studies-table' })
        : el('p', { class: 'muted' }, 'No study recorded yet: submit one with `studies submit FILE`.'));
    function files(title, list) {
      return list.length ? [el('h3', {}, title), el('ul', {}, list.map(function (f) {
        // A file that failed validation: its message in full (the problems follow its first line).
        return el('li', { 'data-file': f.file }, f.file, f.error ? el('pre', { class: 'file-error' }, f.error) : null);
      }))] : null;
    }
    var q = v.queue;
    fill('queue', el('h2', {}, 'Queue'),
      q.waiting.length + q.running.length + q.failed.length === 0 ? el('p', { class: 'muted' }, 'The queue folder is empty.') : null,
      files('running', q.running), files('waiting', q.waiting), files('failed', q.failed));
  }

  function renderStudy(v) {
    document.getElementById('crumbs').replaceChildren(' / ', el('a', { href: studyUrl(v.name) }, v.name));
    var done = finished(v.counts);
    fill('title', el('h1', {}, 'Study ' + v.name, v.cancelled ? el('span', { class: 'muted', id: 'cancelled-mark' }, ' (cancelled)') : null),
      v.description ? el('p', {}, v.description) : null,
      el('p', { id: 'summary' }, bar(v.counts, v.total), ' ' + done + '/' + v.total + ' finished · ',
        v.states.filter(function (s) { return v.counts[s] > 0; }).map(function (s) { return el('span', { 'data-count': s }, state(s), ' ' + v.counts[s] + ' '); }),
        ' · ETA ' + duration(v.eta)),
      v.best ? el('p', { id: 'best' }, 'best so far (' + v.headline + ', of ' + v.best.of + ' completed): ',
        el('a', { href: studyUrl(v.name) + '/trials/' + encodeURIComponent(v.best.id) }, v.best.label), ' ' + v.best.value) : null);
    if (!v.readOnly && !document.getElementById('actions')) {
      fill('actions-box', el('div', { class: 'actions', id: 'actions' },
        el('button', { class: 'danger', id: 'cancel', onclick: function () { act(v.name, 'cancel', 'Cancel study ' + v.name + '? Queued and interrupted trials are cancelled (running ones finish); records are kept. Same as `studies cancel ' + v.name + '`.'); } }, 'Cancel study'),
        el('button', { id: 'retry', onclick: function () { act(v.name, 'retry', 'Queue the failed and interrupted trials of ' + v.name + ' again? Same as `studies retry ' + v.name + ' --failed`; they run when the study runs again.'); } }, 'Retry failed trials'),
        el('button', { id: 'write-report', onclick: function () { act(v.name, 'report', 'Write the report of ' + v.name + ' now? Same as `studies report ' + v.name + '`.'); } }, 'Write report'),
        el('a', { href: studyUrl(v.name) + '/report', target: '_blank', id: 'open-report' }, 'open report'),
        el('a', { href: studyUrl(v.name) + '/report?download=true', id: 'download-report' }, 'download report')));
      section('message-box');
    }
    liveArea('live', 'Running trials: training curves', 'live-chart', v.live,
      v.counts.running ? 'waiting for the first epoch…' : 'No trial is running.');
    var rows = v.trials.map(function (t) {
      return el('tr', { 'data-trial': t.id, 'data-state': t.state },
        el('td', {}, el('a', { href: studyUrl(v.name) + '/trials/' + encodeURIComponent(t.id) }, t.id)),
        el('td', {}, state(t.state)), el('td', { class: 'num' }, t.attempts), el('td', {}, t.device || ''),
        el('td', { class: 'num' }, t.phase === null ? '' : t.phase),
        el('td', { class: 'num' }, t.epoch === null ? '' : t.epoch + (t.epochs ? '/' + t.epochs : '')),
        el('td', { class: 'num' }, t.headline || ''), el('td', { class: 'num' }, t.seconds ? t.seconds.toFixed(1) : ''), el('td', {}, t.axes));
    });
    // A page of the table at a time (a study of 100,000 trials sends 200 rows, not all): ?from=N pages on.
    var paged = v.total > v.trials.length;
    var pageLink = function (from, text) { return el('a', { href: studyUrl(v.name) + '?from=' + from, class: 'page-link' }, text); };
    fill('trials', el('h2', {}, 'Trials', paged ? ' ' + (v.trialsFrom + 1) + '–' + (v.trialsFrom + v.trials.length) + ' of ' + v.total : ''),
      paged ? el('p', { id: 'trial-pages' }, v.trialsFrom > 0 ? pageLink(Math.max(0, v.trialsFrom - v.trialsPerPage), '‹ previous') : null, ' ',
        v.trialsFrom + v.trials.length < v.total ? pageLink(v.trialsFrom + v.trialsPerPage, 'next ›') : null) : null,
      el('div', { class: 'scroll' }, table(['trial', 'state', 'attempt', 'device', 'phase', 'epoch', v.headline, 'seconds', 'axes'], rows, { id: 'trials-table' })));
    fill('failures', v.failures.length ? [el('h2', {}, 'Failed, diverged and interrupted trials', v.failuresTotal > v.failures.length ? ' (first ' + v.failures.length + ' of ' + v.failuresTotal + ')' : ''),
      table(['trial', 'state', 'attempts', 'reason'], v.failures.map(function (f) {
        return el('tr', {}, el('td', {}, f.id), el('td', {}, state(f.state)), el('td', { class: 'num' }, f.attempts), el('td', {}, el('pre', {}, f.error)));
      }))] : null);
    if (v.chartsVersion !== chartsVersion && v.chartsVersion !== wantedCharts) loadCharts(v.name, v.chartsVersion);
  }

  // chartsVersion: completed trials the drawn charts include; wantedCharts: completed trials now.
  var chartsVersion = null, wantedCharts = null, chartsLoading = false;
  function loadCharts(name, version) {
    wantedCharts = version;
    if (chartsLoading) return;
    chartsLoading = true;
    fetch('/api/studies/' + encodeURIComponent(name) + '/charts').then(function (r) { return r.json(); }).then(function (c) {
      if (c.completed === chartsVersion) return;
      chartsVersion = c.completed;
      var box = section('report-charts');
      if (!c.charts.length) { box.replaceChildren(el('h2', {}, 'Report charts'), el('p', { class: 'muted', id: 'charts-note' }, c.note || 'Drawn once a trial completed.')); return; }
      var children = [el('h2', {}, 'Report charts (' + c.completed + ' completed trials; as in report.html)')];
      var lastSection = null;
      c.charts.forEach(function (chart) {
        if (chart.section !== lastSection) { children.push(el('h3', {}, chart.section)); lastSection = chart.section; }
        children.push(el('div', { class: 'chart report-chart', id: 'report-' + chart.id, title: chart.title }));
      });
      Object.keys(drawn).forEach(function (id) { if (id.indexOf('report-') === 0) forget(id); });
      box.replaceChildren.apply(box, children);
      // One chart after another, a frame between them, as report.html does.
      return c.charts.reduce(function (p, chart) {
        return p.then(function () { return draw('report-' + chart.id, chart.spec); })
          .then(function () { return new Promise(function (r) { requestAnimationFrame(function () { r(); }); }); });
      }, Promise.resolve()).then(function () { mark('charts'); });
    }).catch(function (e) { reportError('report charts: ' + e.message); })
      .finally(function () {
        chartsLoading = false;
        // Trials completed while these charts were fetched or drawn, or the server (which recomposes at
        // most every few seconds) did not include them yet: ask again a little later.
        if (wantedCharts !== chartsVersion) setTimeout(function () { loadCharts(name, wantedCharts); }, 5000);
      });
  }

  function renderTrial(v) {
    document.getElementById('crumbs').replaceChildren(' / ', el('a', { href: studyUrl(v.study) }, v.study), ' / ', v.id);
    fill('title', el('h1', {}, 'Trial ' + v.id), el('p', {}, state(v.state), ' attempt ' + v.attempts, v.device ? ' on ' + v.device : '',
      v.epoch !== null ? ' · ' + (v.phase !== null ? 'phase ' + v.phase + ', ' : '') + 'epoch ' + v.epoch : '', v.seconds ? ' · ' + duration(v.seconds) : ''),
      el('p', { class: 'muted' }, v.axes), v.error ? el('pre', {}, v.error) : null);
    liveArea('curve', 'Training curve', 'trial-chart', v.curve, 'No epoch reported yet.');
    fill('phases', el('h2', {}, 'Phases'), v.phases.length
      ? table(['phase', 'loss', 'epochs', 'seconds'], v.phases.map(function (p) { return el('tr', {}, el('td', {}, p.phase), el('td', {}, p.loss), el('td', { class: 'num' }, p.epochs), el('td', { class: 'num' }, p.seconds)); }))
      : el('p', { class: 'muted' }, 'Recorded when the trial finishes; the schedule is in the spec below.'));
    fill('masses', el('h2', {}, 'Per-mass metrics (test split, best epoch)'), v.masses
      ? el('div', { class: 'wide' }, table(v.masses.header, v.masses.rows.map(function (r) { return el('tr', {}, r.map(function (c, i) { return el('td', { class: i > 1 ? 'num' : null }, c); })); }), { id: 'mass-table' }))
      : el('p', { class: 'muted' }, 'Recorded when the trial finishes.'));
    fill('spec', el('h2', {}, 'Spec'), el('details', {}, el('summary', {}, 'the trial as it runs (JSON)'), el('pre', {}, v.spec)));
    fill('log', el('h2', {}, 'Worker log (tail)'), v.log ? el('pre', { class: 'log' }, v.log) : el('p', { class: 'muted' }, 'No log yet.'));
  }

  function render(v) {
    if (v.storeError) { fill('title', el('p', { class: 'muted' }, 'The store cannot be read right now: ' + v.storeError)); return; }
    if (v.missing) { fill('title', el('h1', {}, 'Not found'), el('p', {}, 'No such study or trial in this workspace (yet).')); return; }
    var placeholder = document.querySelector('#main > p.muted');
    if (placeholder && !updates) document.getElementById('main').replaceChildren();
    if (v.page === 'overview') renderOverview(v); else if (v.page === 'study') renderStudy(v); else renderTrial(v);
    body.setAttribute('data-updates', String(++updates));
    if (updates === 1) requestAnimationFrame(function () { mark('first-view'); setTimeout(loadVega, 0); });
  }

  // Bench mode (studies bench dashboard): the times that matter, logged for the benchmark to read from Chromium's log.
  var bench = location.hash === '#bench';
  function mark(name) { if (bench) console.log('bench ' + name + ' ' + performance.now().toFixed(1)); }
  if (bench && window.PerformanceObserver) {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (e) { if (e.name === 'first-contentful-paint') console.log('bench first-contentful-paint ' + e.startTime.toFixed(1)); });
    }).observe({ type: 'paint', buffered: true });
  }

  var pageFrom = new URLSearchParams(location.search).get('from');
  var query = 'view=' + encodeURIComponent(view) + (studyName ? '&study=' + encodeURIComponent(studyName) : '') + (trialId ? '&trial=' + encodeURIComponent(trialId) : '')
    + (pageFrom && /^[0-9]+$/.test(pageFrom) ? '&from=' + pageFrom : '');
  var source = new EventSource('/events?' + query);
  var connection = document.getElementById('connection');
  source.onopen = function () { connection.textContent = 'live'; connection.className = 'connection live'; };
  source.onerror = function () { connection.textContent = 'reconnecting…'; connection.className = 'connection lost'; };
  source.addEventListener('snapshot', function (e) {
    try { render(JSON.parse(e.data)); } catch (err) { reportError('render: ' + (err && err.stack || err)); }
  });
})();
