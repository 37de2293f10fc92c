/**
 * The flame graph's browser script, shared by `headroom flamegraph` and the report. It reads `profile`
 * (FlameData, see flamegraph-data) from the page's JSON element and draws into #flamegraph-chart. Names
 * and paths come from the job's processes: they reach the page only as canvas text and textContent,
 * never as markup. Plain ES2020, no modules, nothing fetched; it stands alone so either page can inline it.
 */
export const FLAME_SCRIPT = String.raw`
(function () {
  'use strict';
  var source = document.getElementById('headroom-data');
  var data = JSON.parse(source ? source.textContent || 'null' : 'null');
  var flame = data && data.profile;
  var section = document.getElementById('flamegraph');
  var holder = document.getElementById('flamegraph-chart');
  if (!flame || !section || !holder) return;
  section.hidden = false;

  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function fmtBytes(bytes) {
    var value = Math.abs(bytes);
    var unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++; }
    var digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
    return (bytes < 0 ? '-' : '') + value.toFixed(digits) + ' ' + UNITS[unit];
  }
  function fmtTime(ms) {
    if (ms < 10000) return (ms / 1000).toFixed(2) + ' s';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    var minutes = Math.floor(ms / 60000);
    if (minutes < 60) return minutes + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
    return Math.floor(minutes / 60) + ' h ' + (minutes % 60) + ' min';
  }
  function fmtShare(part, whole) {
    if (!whole) return '';
    var share = (part / whole) * 100;
    return (share >= 10 || share === 0 ? Math.round(share) : share.toFixed(1)) + '%';
  }
  function quoteArg(arg) {
    return /^[A-Za-z0-9_@%+=:,.\/-]+$/.test(arg) ? arg : "'" + String(arg).replace(/'/g, "'\\''") + "'";
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent, tag, className, text) { return parent.appendChild(el(tag, className, text)); }

  // ---- The node table ---------------------------------------------------------------------------------
  var ROOT = 0, PROCESS = 1, OWN = 2, LIBRARY = 3;
  var strings = flame.strings;
  var parent = flame.nodes.parent;
  var kind = flame.nodes.kind;
  var N = parent.length;
  var depth = new Int32Array(N);
  var processOf = new Int32Array(N);
  var children = [];
  for (var i = 0; i < N; i++) {
    children.push([]);
    if (i > 0) {
      depth[i] = depth[parent[i]] + 1;
      children[parent[i]].push(i);
      processOf[i] = kind[i] === PROCESS ? i : processOf[parent[i]];
    }
  }
  var processes = {};
  flame.processes.forEach(function (p) { processes[p.node] = p; });
  function nameOf(node) {
    var name = strings[flame.nodes.name[node]];
    return name || '(anonymous)';
  }
  function shortFile(node) {
    var file = strings[flame.nodes.file[node]];
    if (!file) return '';
    var line = flame.nodes.line[node];
    return file.replace(/^file:\/\//, '').split('/').slice(-2).join('/') + (line > 0 ? ':' + line : '');
  }
  function fullFile(node) {
    var file = strings[flame.nodes.file[node]];
    var line = flame.nodes.line[node];
    return file ? file + (line > 0 ? ':' + line : '') : '';
  }
  function countWord(node) {
    var p = processes[processOf[node]];
    if (!p) return 'allocations';
    if (p.mode === 'sampling') return 'sampled allocations';
    if (p.mode === 'growth') return 'growth steps';
    return 'live blocks';
  }

  // ---- Values at a slider position: replayed from the per-position changes ---------------------------
  var positions = flame.positions;
  var self = new Float64Array(N);
  var selfCount = new Float64Array(N);
  var total = new Float64Array(N);
  var totalCount = new Float64Array(N);
  var applied = -1;
  function valuesAt(k) {
    if (k < applied) { self.fill(0); selfCount.fill(0); applied = -1; }
    for (var p = applied + 1; p <= k; p++) {
      var changes = positions[p].changes;
      for (var c = 0; c + 2 < changes.length; c += 3) {
        self[changes[c]] = changes[c + 1];
        selfCount[changes[c]] = changes[c + 2];
      }
    }
    applied = k;
    total.set(self);
    totalCount.set(selfCount);
    for (var j = N - 1; j > 0; j--) {
      total[parent[j]] += total[j];
      totalCount[parent[j]] += totalCount[j];
    }
  }

  // ---- Page furniture ---------------------------------------------------------------------------------
  var head = document.getElementById('flame-head');
  if (head && data.command) {
    var cmd = add(head, 'div', 'command');
    add(cmd, 'span', 'prompt', '$ ');
    add(cmd, 'code', '', data.command.map(quoteArg).join(' '));
    if (data.captureFile) add(head, 'p', 'note', 'capture ' + data.captureFile);
    document.title = 'headroom flame graph: ' + data.command.map(quoteArg).join(' ');
  }
  if (flame.join) add(holder, 'p', 'flame-join', flame.join);

  var controls = add(holder, 'div', 'flame-controls');
  var sliderLabel = add(controls, 'label', 'flame-slider-label', 'time');
  var slider = add(sliderLabel, 'input', 'flame-slider');
  slider.type = 'range';
  slider.min = '0';
  slider.max = String(Math.max(0, positions.length - 1));
  slider.step = '1';
  slider.value = String(flame.initial);
  slider.id = 'flame-slider';
  slider.setAttribute('aria-label', 'snapshot time');
  if (positions.length < 2) slider.disabled = true;
  var first = positions[flame.initial];
  var back = add(controls, 'button', 'flame-button', 'back to ' + (flame.initial === flame.peak
    ? 'the peak (' + fmtTime(first.timeMs) + ')' : fmtTime(first.timeMs)));
  back.type = 'button';
  var reset = add(controls, 'button', 'flame-button', 'reset zoom');
  reset.type = 'button';
  reset.disabled = true;
  var status = add(holder, 'p', 'flame-status');
  status.setAttribute('aria-live', 'polite');

  var strip = add(holder, 'canvas', 'flame-strip');
  strip.setAttribute('role', 'img');
  strip.setAttribute('aria-label', 'cgroup memory usage over time; the line marks the time shown');
  var frame = add(holder, 'div', 'flame-frame');
  var canvas = add(frame, 'canvas', 'flame-canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'flame graph of the memory held, by call stack');
  // Outside the scrolling frame, so that the frame's edges cannot clip it.
  var tip = add(holder, 'div', 'flame-tip');
  tip.hidden = true;
  var detail = add(holder, 'div', 'flame-detail', 'Hover over a frame for its figures; click one to zoom in.');
  var key = add(holder, 'p', 'note flame-key');
  [['own', 'the job\u2019s code'], ['library', 'runtime, packages, native'], ['process', 'process']].forEach(function (k) {
    add(key, 'span', 'flame-swatch ' + k[0]);
    add(key, 'span', 'flame-key-text', k[1]);
  });
  var MODE_WORDS = {
    sampling: 'Node: live memory estimated from V8\u2019s allocation samples.',
    growth: 'Python: memory growth charged to the code running when it grew.',
    tracemalloc: 'Python (tracemalloc): live blocks, exact.',
  };
  var modes = [];
  flame.processes.forEach(function (p) { if (modes.indexOf(p.mode) < 0) modes.push(p.mode); });
  var notes = modes.map(function (m) { return MODE_WORDS[m] || ''; }).filter(Boolean);
  if (flame.snapshotTimes > positions.length) {
    notes.push(positions.length + ' of ' + flame.snapshotTimes + ' snapshot times are on the slider.');
  }
  if (flame.folded) notes.push(flame.folded + ' small frames are folded into their callers.');
  if (notes.length) add(holder, 'p', 'note', notes.join(' '));
  if (flame.notes.length) {
    add(holder, 'p', 'note flame-notes-head', 'What the profilers noted:');
    var noteList = add(holder, 'ul', 'flame-notes');
    flame.notes.forEach(function (n) {
      add(noteList, 'li', '', fmtTime(n.timeMs) + ', pid ' + n.pid + ': ' + n.message);
    });
  }

  // ---- Drawing ----------------------------------------------------------------------------------------
  var ROW = 20;
  var zoom = 0;
  var hover = -1;
  var current = flame.initial;
  var rects = [];
  var ctx = canvas.getContext('2d');

  function hash(text) {
    var h = 2166136261;
    for (var c = 0; c < text.length; c++) { h ^= text.charCodeAt(c); h = Math.imul(h, 16777619); }
    return h >>> 0;
  }
  function colorOf(node) {
    if (kind[node] === ROOT) return '#4b5563';
    if (kind[node] === PROCESS) return '#6b7f73';
    var h = hash(nameOf(node));
    if (kind[node] === LIBRARY) return 'hsl(' + (195 + (h % 30)) + ', 28%, ' + (76 + ((h >> 8) % 8)) + '%)';
    return 'hsl(' + (12 + (h % 36)) + ', ' + (78 + ((h >> 8) % 14)) + '%, ' + (60 + ((h >> 16) % 10)) + '%)';
  }
  function labelOf(node) {
    if (kind[node] === ROOT) return 'all processes';
    if (kind[node] === PROCESS) return nameOf(node);
    var where = shortFile(node);
    return nameOf(node) + (where ? '  ' + where : '');
  }
  function fitText(text, width) {
    if (width < 24) return '';
    if (ctx.measureText(text).width <= width) return text;
    var cut = Math.floor((text.length * width) / ctx.measureText(text).width);
    for (; cut > 1; cut--) {
      var candidate = text.slice(0, cut - 1) + '\u2026';
      if (ctx.measureText(candidate).width <= width) return candidate;
    }
    return '';
  }

  /** The canvas as wide as its frame and as tall as the rows drawn. */
  function size(rows) {
    var dpr = window.devicePixelRatio || 1;
    var height = rows * ROW + 1;
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  function measure() {
    width = Math.max(320, frame.clientWidth);
    var dpr = window.devicePixelRatio || 1;
    var stripWidth = Math.max(320, holder.clientWidth);
    strip.style.width = stripWidth + 'px';
    strip.style.height = '56px';
    strip.width = Math.round(stripWidth * dpr);
    strip.height = Math.round(56 * dpr);
  }
  var width = 0;
  measure();

  /** Which nodes show where: the zoomed node's callers dimmed, full width; below it widths by bytes. */
  function layout() {
    var out = [];
    for (var a = parent[zoom]; a >= 0; a = parent[a]) out.push({ node: a, x: 0, w: width, dim: true });
    if (total[zoom] <= 0) return out;
    var stack = [[zoom, 0, width]];
    while (stack.length) {
      var item = stack.pop();
      var node = item[0], x = item[1], w = item[2];
      out.push({ node: node, x: x, w: w, dim: false });
      var list = children[node];
      var cx = x;
      for (var c = 0; c < list.length; c++) {
        var child = list[c];
        if (total[child] <= 0) continue;
        var cw = (w * total[child]) / total[node];
        // Narrower than a pixel: too thin to see or to point at.
        if (cw >= 1) stack.push([child, cx, cw]);
        cx += cw;
      }
    }
    return out;
  }

  function box(rect) {
    var node = rect.node, x = rect.x, w = rect.w;
    var y = depth[node] * ROW;
    rect.y = y;
    ctx.globalAlpha = rect.dim ? 0.45 : 1;
    ctx.fillStyle = colorOf(node);
    ctx.fillRect(x, y, Math.max(0.5, w - (w > 3 ? 1 : 0)), ROW - 1);
    ctx.globalAlpha = 1;
    if (node === hover) {
      ctx.strokeStyle = '#111';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x + 0.75, y + 0.75, Math.max(0.5, w - 2.5), ROW - 2.5);
    }
    var text = fitText(labelOf(node), w - 8);
    if (text) {
      ctx.fillStyle = kind[node] === ROOT || kind[node] === PROCESS ? '#fff' : '#1b1b1b';
      ctx.fillText(text, x + 4, y + ROW / 2);
    }
  }

  var sizedRows = -1;
  function draw(refitted) {
    rects = layout();
    var rows = depth[zoom] + 1;
    rects.forEach(function (rect) { if (depth[rect.node] + 1 > rows) rows = depth[rect.node] + 1; });
    // Resizing clears the canvas; only when the rows change.
    if (rows !== sizedRows) {
      size(rows);
      sizedRows = rows;
      // A taller canvas can bring the frame's scroll bar, a shorter one take it away: fit the width again.
      var fits = Math.max(320, frame.clientWidth);
      if (fits !== width && !refitted) {
        width = fits;
        sizedRows = -1;
        draw(true);
        return;
      }
    }
    ctx.clearRect(0, 0, width, rows * ROW + 1);
    ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    rects.forEach(box);
    if (total[zoom] <= 0) {
      ctx.fillStyle = '#5f6368';
      ctx.fillText(zoom === 0 ? 'No memory was attributed at this time.'
        : 'This frame held no memory at this time.', 8, depth[zoom] * ROW + ROW / 2);
    }
  }

  function drawStrip() {
    var dpr = window.devicePixelRatio || 1;
    var s = strip.getContext('2d');
    var w = strip.width / dpr, h = strip.height / dpr;
    s.setTransform(dpr, 0, 0, dpr, 0, 0);
    s.clearRect(0, 0, w, h);
    var usage = flame.usage;
    var end = Math.max(usage.durationMs, positions[positions.length - 1].timeMs, 1);
    var highest = 0;
    usage.bytes.forEach(function (b) { if (b !== null && b > highest) highest = b; });
    // A limit far above what the job used would flatten the line: then it is only named.
    var limitShown = usage.limit !== null && usage.limit <= highest * 1.6;
    var top = Math.max(highest, limitShown ? usage.limit : 0);
    top = top > 0 ? top * 1.08 : 1;
    var plotTop = 14, plotBottom = h - 8;
    function xOf(ms) { return (ms / end) * (w - 2) + 1; }
    function yOf(b) { return plotBottom - (b / top) * (plotBottom - plotTop); }
    s.fillStyle = '#f3f5f7';
    s.fillRect(0, plotTop, w, plotBottom - plotTop);
    s.beginPath();
    var started = false;
    var lastX = 0;
    usage.timeMs.forEach(function (t, k) {
      var b = usage.bytes[k];
      if (b === null) return;
      var x = xOf(t);
      if (!started) { s.moveTo(x, plotBottom); started = true; }
      s.lineTo(x, yOf(b));
      lastX = x;
    });
    if (started) {
      s.lineTo(lastX, plotBottom);
      s.closePath();
      s.fillStyle = 'rgba(78, 121, 167, 0.35)';
      s.fill();
      s.strokeStyle = '#4e79a7';
      s.lineWidth = 1;
      s.stroke();
    }
    if (limitShown) {
      s.strokeStyle = '#d62728';
      s.setLineDash([6, 3]);
      s.beginPath();
      s.moveTo(0, yOf(usage.limit));
      s.lineTo(w, yOf(usage.limit));
      s.stroke();
      s.setLineDash([]);
    }
    s.fillStyle = '#9aa3ad';
    positions.forEach(function (p) { s.fillRect(Math.round(xOf(p.timeMs)) - 0.5, plotBottom, 1, 5); });
    var x = xOf(positions[current].timeMs);
    s.fillStyle = '#1b1b1b';
    s.fillRect(Math.round(x) - 1, plotTop - 2, 2, plotBottom - plotTop + 6);
    s.font = '11px system-ui, sans-serif';
    s.textBaseline = 'top';
    s.fillStyle = '#5f6368';
    s.textAlign = 'left';
    s.fillText('cgroup usage, up to ' + fmtBytes(highest) + (usage.limit === null ? ' (no limit)'
      : limitShown ? ' (limit ' + fmtBytes(usage.limit) + ', dashed)' : ' (limit ' + fmtBytes(usage.limit) + ', far above)'), 2, 0);
    s.textAlign = 'right';
    s.fillText(fmtTime(end), w - 2, 0);
    s.textAlign = x > w / 2 ? 'right' : 'left';
    s.fillStyle = '#1b1b1b';
    var mark = fmtTime(positions[current].timeMs);
    var markX = x > w / 2 ? x - 5 : x + 5;
    var markWidth = s.measureText(mark).width;
    s.fillStyle = 'rgba(255,255,255,0.85)';
    s.fillRect(x > w / 2 ? markX - markWidth - 2 : markX - 2, plotTop + 2, markWidth + 4, 14);
    s.fillStyle = '#1b1b1b';
    s.fillText(mark, markX, plotTop + 3);
  }

  function describeStatus() {
    var p = positions[current];
    var shown = 0;
    flame.processes.forEach(function (proc) { if (total[proc.node] > 0) shown++; });
    status.textContent = 'At ' + fmtTime(p.timeMs) + (p.label ? ' (' + p.label + ')' : '') + ': ' +
      fmtBytes(total[0]) + ' held in ' + shown + (shown === 1 ? ' process' : ' processes') +
      (zoom ? '; zoomed into ' + labelOf(zoom) : '') + '.';
  }

  function describe(node) {
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    if (node < 0) {
      detail.textContent = 'Hover over a frame for its figures; click one to zoom in.';
      return;
    }
    add(detail, 'strong', 'flame-name', kind[node] === ROOT ? 'all processes' : nameOf(node));
    var where = kind[node] === PROCESS ? '' : fullFile(node);
    if (where) add(detail, 'code', 'flame-where', where);
    var figures = fmtBytes(total[node]) + ' (' + fmtShare(total[node], total[0]) + ' of all';
    if (zoom && zoom !== node) figures += ', ' + fmtShare(total[node], total[zoom]) + ' of the zoomed frame';
    figures += ')';
    if (children[node].length && self[node] > 0) figures += ', of which ' + fmtBytes(self[node]) + ' in the frame itself';
    figures += '; ' + Math.round(totalCount[node]) + ' ' + countWord(node);
    add(detail, 'span', 'flame-figures', figures);
    var p = processes[kind[node] === PROCESS ? node : processOf[node]];
    if (p && kind[node] === PROCESS) {
      add(detail, 'span', 'flame-figures', 'pid ' + p.pid + ', ' + p.runtime + ' (' + p.mode + ')');
      if (p.argv.length) add(detail, 'code', 'flame-where', p.argv.map(quoteArg).join(' '));
    }
  }

  function showTip(node, clientX, clientY) {
    if (node < 0) { tip.hidden = true; return; }
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    add(tip, 'div', 'flame-tip-name', kind[node] === ROOT ? 'all processes' : nameOf(node));
    var where = kind[node] === PROCESS ? '' : fullFile(node);
    if (where) add(tip, 'div', 'flame-tip-where', where);
    add(tip, 'div', '', fmtBytes(total[node]) + ' \u00b7 ' + fmtShare(total[node], total[0]) + ' of all');
    if (children[node].length && self[node] > 0) add(tip, 'div', '', 'self ' + fmtBytes(self[node]));
    add(tip, 'div', '', Math.round(totalCount[node]) + ' ' + countWord(node));
    tip.hidden = false;
    var x = clientX + 14;
    var y = clientY + 16;
    if (x + tip.offsetWidth > window.innerWidth - 4) x = Math.max(4, clientX - tip.offsetWidth - 10);
    if (y + tip.offsetHeight > window.innerHeight - 4) y = Math.max(4, clientY - tip.offsetHeight - 10);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }

  function nodeAt(event) {
    var bounds = canvas.getBoundingClientRect();
    var x = event.clientX - bounds.left, y = event.clientY - bounds.top;
    for (var r = rects.length - 1; r >= 0; r--) {
      var rect = rects[r];
      if (y >= rect.y && y < rect.y + ROW && x >= rect.x && x < rect.x + rect.w) return rect.node;
    }
    return -1;
  }

  function show(k) {
    current = Math.max(0, Math.min(positions.length - 1, k));
    slider.value = String(current);
    valuesAt(current);
    draw();
    drawStrip();
    describeStatus();
    describe(hover);
    holder.setAttribute('data-position', String(current));
  }
  function zoomTo(node) {
    zoom = node;
    reset.disabled = zoom === 0;
    draw();
    describeStatus();
  }

  slider.addEventListener('input', function () { show(Number(slider.value)); });
  back.addEventListener('click', function () { show(flame.initial); });
  reset.addEventListener('click', function () { zoomTo(0); });
  canvas.addEventListener('mousemove', function (event) {
    var node = nodeAt(event);
    if (node !== hover) { hover = node; draw(); describe(node); }
    canvas.style.cursor = node >= 0 ? 'pointer' : 'default';
    showTip(node, event.clientX, event.clientY);
  });
  canvas.addEventListener('mouseleave', function () {
    hover = -1;
    tip.hidden = true;
    draw();
  });
  canvas.addEventListener('click', function (event) {
    var node = nodeAt(event);
    if (node >= 0) { zoomTo(node === zoom ? (parent[node] >= 0 ? parent[node] : 0) : node); describe(node); }
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && zoom !== 0) zoomTo(0);
  });
  function stripPosition(event) {
    var bounds = strip.getBoundingClientRect();
    var end = Math.max(flame.usage.durationMs, positions[positions.length - 1].timeMs, 1);
    var ms = ((event.clientX - bounds.left - 1) / Math.max(1, bounds.width - 2)) * end;
    var best = 0;
    for (var k = 1; k < positions.length; k++) {
      if (Math.abs(positions[k].timeMs - ms) < Math.abs(positions[best].timeMs - ms)) best = k;
    }
    return best;
  }
  var dragging = false;
  strip.addEventListener('mousedown', function (event) { dragging = true; show(stripPosition(event)); });
  strip.addEventListener('mousemove', function (event) {
    if (dragging) { var k = stripPosition(event); if (k !== current) show(k); }
  });
  window.addEventListener('mouseup', function () { dragging = false; });
  window.addEventListener('resize', function () { measure(); sizedRows = -1; draw(); drawStrip(); });

  show(flame.initial);
  document.body.setAttribute('data-flame-ready', '1');
})();
`;
