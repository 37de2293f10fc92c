/**
 * The report's own browser script, inlined after uPlot. It reads the data from the JSON element and
 * builds the page with createElement and textContent only: every string in the data came from a process
 * (argv, names, paths) and must never be parsed as markup. Plain ES2020, no modules, nothing fetched.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var source = document.getElementById('headroom-data');
  var data = JSON.parse(source ? source.textContent || 'null' : 'null');
  if (!data) return;
  document.documentElement.classList.add('js');

  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function fmtBytes(bytes) {
    if (bytes === null || bytes === undefined) return 'none';
    var value = Math.abs(bytes);
    var unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++; }
    var digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
    return (bytes < 0 ? '-' : '') + value.toFixed(digits) + ' ' + UNITS[unit];
  }
  /** Axis labels: no trailing zeros (64 MiB, 1.5 GiB). */
  function fmtAxisBytes(bytes) { return fmtBytes(bytes).replace(/\.0+ /, ' ').replace(/(\.\d*?)0+ /, '$1 '); }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function fmtDuration(ms) {
    if (ms < 10000) return (ms / 1000).toFixed(2) + 's';
    if (ms < 60000) return (ms / 1000).toFixed(1) + 's';
    var minutes = Math.floor(ms / 60000);
    var seconds = (ms % 60000) / 1000;
    if (minutes < 60) { var s = seconds.toFixed(1); return minutes + 'm' + (s.length < 4 ? '0' + s : s) + 's'; }
    return Math.floor(minutes / 60) + 'h' + pad2(minutes % 60) + 'm';
  }
  /** Axis labels: seconds since the start, as short as the tick spacing allows. */
  function fmtTick(sec, step) {
    if (sec === 0) return '0';
    if (step < 1) return +sec.toFixed(3) + 's';
    if (sec < 60 && step < 60) return Math.round(sec) + 's';
    var total = Math.round(sec);
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    if (h === 0) return m + 'm' + (s ? pad2(s) + 's' : '');
    return h + 'h' + (m || step < 3600 ? pad2(m) + 'm' : '');
  }
  function fmtPercent(part, whole) { return whole ? Math.round((part / whole) * 100) + '%' : ''; }
  function quoteArg(arg) {
    return /^[A-Za-z0-9_@%+=:,.\/-]+$/.test(arg) ? arg : "'" + String(arg).replace(/'/g, "'\\''") + "'";
  }
  function commandLine(argv) { return argv.map(quoteArg).join(' '); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent, tag, className, text) { return parent.appendChild(el(tag, className, text)); }
  function byId(id) { return document.getElementById(id); }

  var out = data.outcome;
  var limitBytes = data.limit.bytes;
  var commandText = commandLine(data.command);
  document.title = 'headroom: ' + (data.component ? data.component + ': ' : '') + commandText;

  // ---- Overview ---------------------------------------------------------------------------------------
  (function overview() {
    var section = byId('overview');
    var head = add(section, 'div', 'command');
    add(head, 'span', 'prompt', '$ ');
    add(head, 'code', '', commandText);
    var how;
    if (out.oomKills.length > 0 && out.signal === 'SIGKILL') how = 'killed by the OOM killer (SIGKILL)';
    else if (out.signal) how = 'killed by ' + out.signal;
    else if (out.exitCode !== null && out.exitCode !== undefined) how = 'exited ' + out.exitCode;
    else how = 'the capture ends without the job\u2019s exit';
    add(section, 'p', 'outcome' + (out.oomKills.length || out.signal || out.exitCode ? ' bad' : ''),
      how + ' after ' + fmtDuration(out.durationMs));
    // The verdict leads: one sentence naming the mechanism, ahead of the tiles and the findings.
    var v = data.verdict;
    var verdict = add(section, 'div', 'verdict ' + (v.kind === 'healthy' ? 'healthy' : 'cause'));
    var vhead = add(verdict, 'div', 'finding-head');
    add(vhead, 'span', 'severity', 'verdict');
    add(vhead, 'span', 'kind', v.kind + (v.confidence === 'high' ? '' : ' \u00b7 ' + v.confidence + ' confidence'));
    if (v.evidence && v.evidence.toMs > v.evidence.fromMs) {
      var vshow = add(vhead, 'button', 'show', 'show on chart');
      vshow.type = 'button';
      vshow.addEventListener('click', function () { zoomTo(v.evidence.fromMs, v.evidence.toMs); });
    }
    add(verdict, 'p', 'message', v.cause);

    var tiles = add(section, 'div', 'tiles');
    function tile(label, value, sub, tone) {
      var t = add(tiles, 'div', 'tile' + (tone ? ' ' + tone : ''));
      add(t, 'div', 'tile-label', label);
      add(t, 'div', 'tile-value', value);
      if (sub) add(t, 'div', 'tile-sub', sub);
    }
    var share = fmtPercent(data.peak.bytes, limitBytes);
    tile('peak', fmtBytes(data.peak.bytes),
      (share ? share + ' of the limit, ' : '') + 'at ' + fmtDuration(data.peak.timeMs),
      limitBytes && data.peak.bytes >= 0.9 * limitBytes ? 'warn' : '');
    tile('limit', limitBytes === null ? 'none' : fmtBytes(limitBytes), data.limit.source);
    tile('OOM kills', String(out.oomKills.length), out.oomKills.length ? out.oomKills.map(function (k) {
      return (k.name || 'unknown') + (k.pid !== null ? ' (' + k.pid + ')' : '') + ' at ' + fmtDuration(k.timeMs);
    }).slice(0, 3).join(', ') : '', out.oomKills.length ? 'bad' : '');
    tile('limit hits', String(out.limitHits), out.limitHits ? 'usage reached the limit' : '',
      out.limitHits ? 'warn' : '');
    tile('duration', fmtDuration(out.durationMs), new Date(data.startedAt).toLocaleString());

    if (data.warnings.length) {
      var box = add(section, 'div', 'notice');
      add(box, 'strong', '', 'This capture is incomplete or damaged:');
      var list = add(box, 'ul');
      data.warnings.forEach(function (w) { add(list, 'li', '', w); });
    }
  })();

  // ---- Charts -----------------------------------------------------------------------------------------
  var charts = [];
  var KIB = 1024;
  function byteSplits(u, axisIdx, min, max) {
    var span = Math.max(1, max - min);
    var target = span / 5;
    var step = 1;
    while (step < target) step *= 2;
    if (step >= 8 * KIB && span / step < 3) step /= 2;
    var splits = [];
    for (var v = Math.ceil(min / step) * step; v <= max; v += step) splits.push(v);
    return splits;
  }
  var TIME_INCRS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120,
    300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
  function timeAxis() {
    return {
      incrs: TIME_INCRS,
      values: function (u, splits, axisIdx, space, incr) {
        return splits.map(function (s) { return fmtTick(s, incr); });
      },
      stroke: '#555',
      grid: { stroke: '#eee', width: 1 },
      ticks: { stroke: '#ccc', width: 1 },
    };
  }
  function bytesAxis() {
    return {
      splits: byteSplits,
      values: function (u, splits) { return splits.map(fmtAxisBytes); },
      size: 76,
      stroke: '#555',
      grid: { stroke: '#eee', width: 1 },
      ticks: { stroke: '#ccc', width: 1 },
    };
  }
  function chartWidth(container) { return Math.max(320, container.clientWidth); }
  var syncing = false;
  function syncX(u) {
    if (syncing) return;
    syncing = true;
    var x = u.scales.x;
    charts.forEach(function (other) {
      if (other !== u && x.min !== null && x.max !== null) other.setScale('x', { min: x.min, max: x.max });
    });
    syncing = false;
  }
  window.addEventListener('resize', function () {
    charts.forEach(function (u) { u.setSize({ width: chartWidth(u.root.parentNode), height: u.height }); });
  });

  var timeline = data.timeline;
  var layers = [
    { key: 'anon', label: 'anon', color: '#4e79a7' },
    { key: 'cache', label: 'page cache (clean)', color: '#8cc0e8' },
    { key: 'dirty', label: 'dirty + writeback', color: '#f28e2b' },
    { key: 'shmem', label: 'shmem (tmpfs)', color: '#b07aa1' },
    { key: 'kernel', label: 'kernel', color: '#9c755f' },
    { key: 'swap', label: 'swap', color: '#bab0ac' },
  ];
  var memoryChart = null;
  var xsMemory = timeline.timeMs.map(function (ms) { return ms / 1000; });
  var fullRange = [0, Math.max(out.durationMs, timeline.timeMs.length ? timeline.timeMs[timeline.timeMs.length - 1] : 0) / 1000];

  (function memory() {
    var holder = byId('memory-chart');
    var section = byId('memory');
    if (timeline.timeMs.length === 0) {
      add(holder, 'p', 'empty', 'No cgroup samples were recorded.');
      return;
    }
    var n = timeline.timeMs.length;
    var raw = [xsMemory];
    var plotted = [xsMemory];
    var acc = new Array(n).fill(0);
    var anyKnown = new Array(n).fill(false);
    layers.forEach(function (layer) {
      var values = timeline[layer.key];
      raw.push(values);
      for (var i = 0; i < n; i++) if (values[i] !== null) { acc[i] += values[i]; anyKnown[i] = true; }
      plotted.push(acc.map(function (v, i) { return anyKnown[i] ? v : null; }));
    });
    var series = [{ label: 'time', value: function (u, v) { return v === null || v === undefined ? '--' : fmtDuration(v * 1000); } }];
    layers.forEach(function (layer, k) {
      series.push({
        label: layer.label,
        stroke: layer.color,
        fill: layer.color + 'cc',
        width: 1,
        points: { show: false },
        value: function (u, v, si, idx) {
          if (idx === null || idx === undefined) return '--';
          var real = raw[k + 1][idx];
          return real === null ? 'unknown' : fmtBytes(real);
        },
      });
    });
    function line(label, values, color, width, dash) {
      raw.push(values);
      plotted.push(values);
      series.push({
        label: label, stroke: color, width: width, dash: dash, points: { show: false },
        value: function (u, v) { return v === null || v === undefined ? '--' : fmtBytes(v); },
      });
    }
    line('usage', timeline.usage, '#1b1b1b', 1.25);
    if (timeline.limit.some(function (v) { return v !== null; })) line('limit', timeline.limit, '#d62728', 2, [8, 4]);
    if (timeline.high.some(function (v) { return v !== null; })) line('memory.high', timeline.high, '#e377c2', 1.5, [3, 3]);
    var bands = [];
    for (var b = 2; b <= layers.length; b++) bands.push({ series: [b, b - 1] });

    var peakSec = data.peak.timeMs / 1000;
    function drawMarks(u) {
      var ctx = u.ctx;
      var box = u.bbox;
      var dpr = window.devicePixelRatio || 1;
      ctx.save();
      // uPlot leaves its own text alignment and dash pattern on the context.
      ctx.textAlign = 'left';
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.rect(box.left, box.top, box.width, box.height);
      ctx.clip();
      // Limit hits: short ticks along the bottom edge.
      ctx.fillStyle = '#ff7f0e';
      timeline.limitHits.forEach(function (hit) {
        var x = u.valToPos(hit.timeMs / 1000, 'x', true);
        if (x >= box.left && x <= box.left + box.width) ctx.fillRect(x - dpr, box.top + box.height - 8 * dpr, 2 * dpr, 8 * dpr);
      });
      // OOM kills: a red line across the plot, labelled where there is room.
      ctx.font = 'bold ' + 11 * dpr + 'px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      var lastLabel = -Infinity;
      timeline.oomKills.forEach(function (kill) {
        var x = Math.round(u.valToPos(kill.timeMs / 1000, 'x', true));
        if (x < box.left - 1 || x > box.left + box.width + 1) return;
        ctx.fillStyle = '#c00000';
        ctx.fillRect(x - dpr, box.top, 2 * dpr, box.height);
        if (x - lastLabel < 90 * dpr) return;
        var victim = kill.victims.length ? kill.victims[0].name + ' (' + kill.victims[0].pid + ')' : '';
        var text = 'OOM kill' + (victim ? ': ' + victim : '');
        var w = ctx.measureText(text).width + 8 * dpr;
        var left = x + 3 * dpr + w > box.left + box.width ? x - 3 * dpr - w : x + 3 * dpr;
        ctx.fillStyle = 'rgba(255,255,255,0.85)';
        ctx.fillRect(left, box.top + 4 * dpr, w, 16 * dpr);
        ctx.fillStyle = '#c00000';
        ctx.fillText(text, left + 4 * dpr, box.top + 6 * dpr);
        lastLabel = x;
      });
      // The peak: a ring on the usage line.
      if (data.peak.bytes > 0) {
        var px = u.valToPos(peakSec, 'x', true);
        var py = u.valToPos(data.peak.bytes, 'y', true);
        if (px >= box.left && px <= box.left + box.width) {
          ctx.strokeStyle = '#1b1b1b';
          ctx.lineWidth = 2 * dpr;
          ctx.beginPath();
          ctx.arc(px, py, 5 * dpr, 0, 2 * Math.PI);
          ctx.stroke();
          var label = 'peak ' + fmtBytes(data.peak.bytes);
          ctx.font = 11 * dpr + 'px system-ui, sans-serif';
          var lw = ctx.measureText(label).width + 8 * dpr;
          // Below and left of the ring, clear of the OOM labels along the top edge.
          var lx = px - 8 * dpr - lw >= box.left ? px - 8 * dpr - lw : px + 8 * dpr;
          var ly = Math.min(box.top + box.height - 16 * dpr, Math.max(box.top + 26 * dpr, py + 8 * dpr));
          ctx.fillStyle = 'rgba(255,255,255,0.85)';
          ctx.fillRect(lx, ly - 1 * dpr, lw, 15 * dpr);
          ctx.fillStyle = '#1b1b1b';
          ctx.fillText(label, lx + 4 * dpr, ly);
        }
      }
      ctx.restore();
    }

    var opts = {
      width: chartWidth(holder),
      height: 360,
      series: series,
      bands: bands,
      scales: {
        x: { time: false },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.12 : 1]; } },
      },
      axes: [timeAxis(), bytesAxis()],
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      legend: { live: true },
      hooks: { draw: [drawMarks], setScale: [function (u, key) { if (key === 'x') syncX(u); }] },
    };
    memoryChart = new uPlot(opts, plotted, holder);
    charts.push(memoryChart);
    holder.setAttribute('data-points', String(n));

    var note = byId('memory-note');
    note.textContent = 'Stacked: what the cgroup\u2019s memory was made of; the black line is usage as the kernel ' +
      'counts it. ' + (timeline.samples > n ? n + ' of ' + timeline.samples +
      ' samples shown (the lowest and highest of each stretch, so no peak is lost). ' : '') +
      'Drag across the chart to zoom, double-click to zoom out.';

    if (timeline.oomKills.length || out.limitHits) {
      var list = add(section, 'ul', 'events');
      timeline.oomKills.forEach(function (kill) {
        var item = add(list, 'li', 'oom');
        add(item, 'span', 'mark oom-mark');
        var who = kill.victims.map(function (v) { return v.name + ' (pid ' + v.pid + ')'; }).join(', ');
        add(item, 'span', '', 'OOM kill at ' + fmtDuration(kill.timeMs) + (who ? ': ' + who : ''));
      });
      if (out.limitHits) {
        var hits = add(list, 'li', 'hit');
        add(hits, 'span', 'mark hit-mark');
        add(hits, 'span', '', out.limitHits + ' limit hits (orange ticks along the bottom)');
      }
    }
  })();

  function zoomTo(fromMs, toMs) {
    if (!charts.length) return;
    var from = fromMs / 1000;
    var to = toMs / 1000;
    var padding = Math.max((to - from) * 0.1, (fullRange[1] - fullRange[0]) * 0.01, 0.05);
    var target = memoryChart || charts[0];
    target.setScale('x', { min: Math.max(fullRange[0], from - padding), max: Math.min(fullRange[1], to + padding) });
    byId('memory').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  // ---- Findings ---------------------------------------------------------------------------------------
  (function findings() {
    var section = byId('findings');
    if (!data.findings.length) {
      add(section, 'p', 'empty', 'No findings: nothing in this capture called for a change.');
      return;
    }
    data.findings.forEach(function (f) {
      var card = add(section, 'article', 'finding ' + f.severity);
      var head = add(card, 'div', 'finding-head');
      add(head, 'span', 'severity', f.severity);
      add(head, 'span', 'kind', f.kind);
      if (f.evidence && f.evidence.toMs >= f.evidence.fromMs && charts.length) {
        var button = add(head, 'button', 'show', 'show on chart');
        button.type = 'button';
        button.addEventListener('click', function () { zoomTo(f.evidence.fromMs, f.evidence.toMs); });
      }
      add(card, 'p', 'message', f.message);
      if (f.advice && f.advice.length) {
        var advice = add(card, 'ul', 'advice');
        f.advice.forEach(function (a) { add(advice, 'li', '', a); });
      }
      if (f.files && f.files.length) {
        var table = add(card, 'table', 'files');
        var hr = add(add(table, 'thead'), 'tr');
        ['file', 'size', 'in memory at the end', ''].forEach(function (h) { add(hr, 'th', '', h); });
        var body = add(table, 'tbody');
        f.files.forEach(function (file) {
          var row = add(body, 'tr');
          add(add(row, 'td', 'path'), 'code', '', file.path);
          add(row, 'td', 'num', fmtBytes(file.sizeBytes));
          add(row, 'td', 'num', file.residentBytes !== null ? fmtBytes(file.residentBytes)
            : file.deleted ? 'freed' : 'not counted');
          add(row, 'td', '', [file.tmpfs ? 'tmpfs' : '', file.deleted ? 'deleted by the end' : ''].filter(Boolean).join(', '));
        });
      }
      if (f.snippets) {
        var snippets = add(card, 'div', 'snippets');
        [['docker', 'docker run'], ['compose', 'docker compose'], ['kubernetes', 'Kubernetes']].forEach(function (pair) {
          var text = f.snippets[pair[0]];
          if (!text) return;
          var block = add(snippets, 'div', 'snippet');
          add(block, 'div', 'snippet-label', pair[1]);
          add(block, 'pre', '', text);
        });
      }
    });
  })();

  // ---- Processes --------------------------------------------------------------------------------------
  (function processes() {
    var lines = data.processLines;
    var holder = byId('process-chart');
    var palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',
      '#9c755f', '#7f7f7f'];
    if (lines.series.length && lines.timeMs.length) {
      var xs = lines.timeMs.map(function (ms) { return ms / 1000; });
      var series = [{ label: 'time', value: function (u, v) { return v === null || v === undefined ? '--' : fmtDuration(v * 1000); } }];
      var stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
      lines.series.forEach(function (s, i) {
        series.push({
          label: s.name + ' (' + s.pid + ')',
          stroke: palette[i % palette.length],
          width: 1.5,
          paths: stepped,
          points: { show: false },
          value: function (u, v) { return v === null || v === undefined ? '--' : fmtBytes(v); },
        });
      });
      var chart = new uPlot({
        width: chartWidth(holder),
        height: 280,
        series: series,
        scales: { x: { time: false, range: function () { return fullRange; } },
          y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; } } },
        axes: [timeAxis(), bytesAxis()],
        cursor: { drag: { x: true, y: false }, points: { show: false } },
        hooks: { setScale: [function (u, key) { if (key === 'x') syncX(u); }] },
      }, [xs].concat(lines.series.map(function (s) { return s.rss; })), holder);
      charts.push(chart);
      byId('process-note').textContent = 'Resident memory (anon + file + shmem) of the ' + lines.series.length +
        ' processes with the highest peaks. Zooming one chart zooms the other.';
    } else {
      add(holder, 'p', 'empty', 'No per-process memory was recorded.');
    }

    var rows = data.processes.rows;
    var wrap = byId('process-table');
    if (!rows.length) return;
    var table = add(wrap, 'table', 'procs');
    var hr = add(add(table, 'thead'), 'tr');
    [['pid', 'num'], ['ppid', 'num'], ['name', ''], ['peak RSS', 'num'], ['RSS at the peak', 'num'], ['command line', '']]
      .forEach(function (h) { add(hr, 'th', h[1], h[0]); });
    var body = add(table, 'tbody');
    rows.forEach(function (p) {
      var row = add(body, 'tr');
      add(row, 'td', 'num', p.pid);
      add(row, 'td', 'num', p.ppid < 0 ? '?' : p.ppid);
      add(row, 'td', 'name', p.name);
      add(row, 'td', 'num', fmtBytes(p.peakRssBytes));
      add(row, 'td', 'num', p.rssAtPeakBytes ? fmtBytes(p.rssAtPeakBytes) : '\u2013');
      add(add(row, 'td', 'argv'), 'code', '', p.argv.length ? commandLine(p.argv) : '');
    });
    if (data.processes.total > rows.length) {
      add(wrap, 'p', 'note', (data.processes.total - rows.length) + ' more processes, with smaller peaks, are not listed.');
    }
  })();

  // ---- Run details ------------------------------------------------------------------------------------
  (function details() {
    var list = add(byId('details'), 'dl', 'details');
    function item(term, value) {
      if (value === null || value === undefined || value === '') return;
      add(list, 'dt', '', term);
      var dd = add(list, 'dd');
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    }
    item('command', el('code', '', commandText));
    item('component', data.component);
    item('started', data.startedAt);
    var ended = out.signal ? 'signal ' + out.signal : out.exitCode !== null ? 'exit code ' + out.exitCode : 'unknown (no end record)';
    item('ended', ended + (out.status !== null ? ', headroom exited ' + out.status : '') + ', after ' + fmtDuration(out.durationMs));
    item('memory limit', (limitBytes === null ? 'none' : fmtBytes(limitBytes)) + ' \u2014 ' + data.limit.source);
    if (data.limit.highBytes !== null) item('memory.high', fmtBytes(data.limit.highBytes));
    item('swap limit', data.limit.swapBytes === null ? 'none' : fmtBytes(data.limit.swapBytes));
    if (data.limit.requestedMemory !== null) item('--memory', fmtBytes(data.limit.requestedMemory));
    item('cgroup', 'v' + data.cgroup.version + ' ' + data.cgroup.path + (data.cgroup.mode === 'own'
      ? ' (a cgroup of the job\u2019s own)' : ' (observed: the cgroup headroom ran in' +
        (data.cgroup.observeReason ? '; ' + data.cgroup.observeReason : '') + ')'));
    item('host', data.host.hostname + ', ' + fmtBytes(data.host.memoryBytes) + ' memory, ' + fmtBytes(data.host.swapBytes) + ' swap');
    item('kernel', data.host.kernel);
    item('samples', timeline.samples + ' cgroup samples');
    item('capture', data.captureFile);
    item('recorded by', data.tool);
  })();

  // ---- Flame graph (a later version) ------------------------------------------------------------------
  var flame = byId('flamegraph');
  if (flame && data.profile) flame.hidden = false;

  document.body.setAttribute('data-ready', '1');
})();
`;
