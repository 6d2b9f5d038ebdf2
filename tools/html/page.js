// SPDX-License-Identifier: MIT
//
// leakspy-report --format html: the page's script, first part: the
// building blocks, the state, the header, the findings, the chart and the
// table.  page-site.js, the chosen site and the flame graph, follows it in
// the one script embed.py makes of them (it closes the function this one
// opens).  out-html.c writes the report's data as JSON into
// <script id="lsp-data">; this draws the page from it.  The page fetches
// nothing: its Content-Security-Policy allows this script and its style
// only.
//
// The data (numbers are bytes, blocks and seconds since the process
// started; sites in the report's order, growing first):
//   process, status, report   header facts; report.snap is the report's
//                             snapshot, report.from the --diff's first
//   snaps.t, snaps.reason     each snapshot up to the report's
//   chart.i, chart.total      the chart's snapshots (at most 2,000) and
//   chart.bands[j]            the live bytes of all sites and of site j
//   scans                     heap scans: snapshot, time, completeness
//   locs[id]                  a return address as frames, innermost
//                             inline frame first: [function, file, line,
//                             module, offset, inlined]
//   sites[i].loc              its stack as locs ids, innermost first;
//                             lb, lk, ab, ak: live and allocated bytes
//                             and blocks; verdict, rate, peak, age,
//                             reach, chain (the text report's words);
//                             spark: its sparkline, a base64 digit a point
//   cols                      the snapshots with a flame graph (at most
//                             64 and the --diff's first)
//   live[c]                   base64 of LEB128 numbers: for each site live
//                             at cols[c], (index step - 1, bytes, blocks)
//   born                      the same encoding: for each site a count,
//                             then (column step, bytes, blocks) of its
//                             blocks live at the report's snapshot by when
//                             they were allocated: column 0 before cols[0],
//                             column c + 1 after cols[c]; null without ages
//   check                     --check's exit status and findings, or null
//
// What a test reads back from the page is marked with ids and data-
// attributes (leakspy-report(1), "The HTML page").
(function () {
  'use strict';
  var started = performance.now();
  var root = document.documentElement;
  var errors = 0;

  function bump() {
    errors++;
    root.setAttribute('data-errors', String(errors));
  }
  root.setAttribute('data-errors', '0');
  window.addEventListener('error', bump);
  window.addEventListener('unhandledrejection', bump);
  document.addEventListener('securitypolicyviolation', bump);

  var D = JSON.parse(document.getElementById('lsp-data').textContent);
  var R = D.report;
  var SVG = 'http://www.w3.org/2000/svg';

  // --- Building blocks ---------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function sv(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }

  function add(parent) {
    for (var i = 1; i < arguments.length; i++)
      if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }

  // e with the text t, for SVG's title and text elements.
  function named(e, t) {
    e.textContent = t;
    return e;
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  function human(b) {
    var u = 0;
    while (b >= 1024 && u + 1 < UNITS.length) { b /= 1024; u++; }
    return u ? b.toFixed(1) + ' ' + UNITS[u] : b + ' B';
  }

  // The text report's rate: the shortest span in which 1 KiB moves.
  function rate(r) {
    var spans = [['s', 1], ['min', 60], ['h', 3600]], v = 0, s, u = 0;
    for (s = 0; s < spans.length; s++) {
      v = Math.abs(r) * spans[s][1];
      if (v >= 1024 || s + 1 === spans.length) break;
    }
    while (v >= 1024 && u + 1 < UNITS.length) { v /= 1024; u++; }
    return (r < 0 ? '-' : '+') + v.toFixed(u ? 1 : 0) + ' ' + UNITS[u] +
      '/' + spans[s][0];
  }

  function secs(t) {
    if (t === null || t === undefined) return '?';
    return t.toFixed(t >= 100 || t === 0 ? 0 : t >= 1 ? 1 : 3) + ' s';
  }

  function plural(n, one) {
    return n + ' ' + one + (n === 1 ? '' : 's');
  }

  // LEB128 numbers from base64.
  function Reader(s) {
    this.b = s ? atob(s) : '';
    this.i = 0;
  }
  Reader.prototype.more = function () { return this.i < this.b.length; };
  Reader.prototype.uv = function () {
    var v = 0, m = 1, c;
    do {
      c = this.b.charCodeAt(this.i++);
      v += (c & 127) * m;
      m *= 128;
    } while (c & 128 && this.i < this.b.length);
    return v;
  };

  function frameName(f) {
    return f[0] || (f[3] ? f[3] + '+' + f[4] : f[4]);
  }

  function frameLoc(f) {
    return f[1] ? f[1].replace(/.*\//, '') + ':' + f[2] : '';
  }

  // Site i's frames, innermost first.
  var frameCache = [];
  function frames(i) {
    if (frameCache[i]) return frameCache[i];
    var out = [], loc = D.sites[i].loc;
    for (var k = 0; k < loc.length; k++)
      out = out.concat(D.locs[loc[k]]);
    frameCache[i] = out;
    return out;
  }

  function siteName(i) {
    var f = frames(i);
    return f.length ? frameName(f[0]) : '??';
  }

  function siteWhere(i) {
    var f = frames(i);
    return f.length ? frameLoc(f[0]) : '';
  }

  // Who called site i's function, two frames up: what tells apart the
  // sites of one allocation point.
  function callers(i) {
    var f = frames(i), out = '';
    for (var k = 1; k < f.length && k < 3; k++) out += '\u2190 ' + frameName(f[k]) + ' ';
    return out.trim();
  }

  function siteLabel(i) {
    return siteName(i) + (siteWhere(i) ? ' ' + siteWhere(i) : '');
  }

  // --- State, and the URL's hash ----------------------------------------

  var S = { site: 0, col: 0, mode: 'live', from: 0, q: '', sort: 'report',
    page: 0, zoom: '', filter: '' };

  function nearestCol(snap) {
    var best = 0;
    for (var c = 0; c < D.cols.length; c++)
      if (Math.abs(D.cols[c] - snap) < Math.abs(D.cols[best] - snap))
        best = c;
    return best;
  }

  function readHash() {
    var h = location.hash.replace(/^#/, '').split('&'), p = {}, raw = {};
    for (var i = 0; i < h.length; i++) {
      var kv = h[i].split('='), k = decodeURIComponent(kv[0]);
      if (!k) continue;
      raw[k] = kv.slice(1).join('=');
      p[k] = decodeURIComponent(raw[k]);
    }
    var n = parseInt(p.site, 10);
    if (n >= 0 && n < D.sites.length) S.site = n;
    n = parseInt(p.snap, 10);
    if (n >= 0) S.col = nearestCol(n);
    n = parseInt(p.from, 10);
    if (n >= 0) S.from = Math.min(nearestCol(n), D.cols.length - 2);
    if (p.flame === 'live' || p.flame === 'diff') S.mode = p.flame;
    if (p.q !== undefined) S.q = p.q;
    if (/^(report|live|rate|peak|blocks|name)$/.test(p.sort || '')) S.sort = p.sort;
    // zoom: the path's names, each encoded, joined by ';'
    if (raw.zoom) S.zoom = raw.zoom.split(';').map(decodeURIComponent).join('\u0001');
  }

  function writeHash() {
    var h = 'site=' + S.site + '&snap=' + D.cols[S.col] + '&flame=' + S.mode;
    if (S.mode === 'diff') h += '&from=' + D.cols[S.from];
    if (S.q) h += '&q=' + encodeURIComponent(S.q);
    if (S.sort !== 'report') h += '&sort=' + S.sort;
    if (S.zoom) h += '&zoom=' + S.zoom.split('\u0001').map(encodeURIComponent).join(';');
    try {
      history.replaceState(null, '', '#' + h);
    } catch (e) {
      // a page opened where the history cannot be changed keeps its URL
    }
  }

  // --- The header --------------------------------------------------------

  function facts(list) {
    var dl = el('dl', 'facts');
    for (var i = 0; i < list.length; i++) {
      if (list[i][1] === null || list[i][1] === undefined) continue;
      add(dl, el('dt', null, list[i][0]));
      var dd = add(el('dd'), typeof list[i][1] === 'string' ?
        document.createTextNode(list[i][1]) : list[i][1]);
      if (list[i][2]) dd.id = list[i][2];
      dl.appendChild(dd);
    }
    return dl;
  }

  function header(body) {
    var p = D.process, st = D.status;
    add(body, el('h1', null, 'leakspy: ' + (p.name || D.dump)));
    var total = null, scan = null;
    if (R) {
      total = el('span', 'big', human(R.live_bytes) + ' in ' +
        plural(R.live_blocks, 'block'));
      total.id = 'total-live';
      total.setAttribute('data-bytes', R.live_bytes);
      total.setAttribute('data-blocks', R.live_blocks);
      var sc = D.scans.length ? D.scans[D.scans.length - 1] : null;
      if (sc) scan = 'at ' + secs(sc.t) + ' (snapshot #' + sc.snap + ')' +
        (sc.complete ? '' : ': ' + sc.reason);
    }
    add(body, facts([
      ['command', p.argv.join(' ')],
      ['process', 'pid ' + p.pid + ', parent ' + p.ppid + ', ' + p.exe],
      ['started', p.start_ms ? new Date(p.start_ms).toISOString() : null],
      ['ran', secs(p.run_s) + (st.final ? ', ' + st.final :
        ', no final snapshot')],
      ['dump', D.dump + (st.error ? ' (' + st.error + ')' : '')],
      ['snapshots', R ? (R.snap + 1) + ', every ' + secs(p.interval_s) +
        '; this report at #' + R.snap + ' (' + secs(R.t) + ')' +
        (R.from !== null ? ', compared with #' + R.from : '') : 'none'],
      ['sampling', p.sample_bytes ? 'one block per ' + human(p.sample_bytes) +
        ' allocated: figures are estimates' : null],
      ['live', total, null],
      ['allocated', R ? human(R.alloc_bytes) + ' in ' +
        plural(R.alloc_blocks, 'block') + ' since the start' : null],
      ['sites', R ? R.sites + ' (' + R.live_sites + ' live' +
        (R.shown < R.sites ? ', ' + R.shown + ' on this page' : '') + '), ' +
        R.growing + ' growing' + (R.growing ? ' at ' + rate(R.growing_rate) :
        '') : null],
      ['heap scan', scan],
      ['made by', D.tool]
    ]));
  }

  // --- Findings (--check) -----------------------------------------------

  // The site whose stack a finding's frames are, or -1.
  function siteOf(ff) {
    for (var i = 0; i < D.sites.length; i++) {
      var f = frames(i), k;
      if (f.length !== ff.length) continue;
      for (k = 0; k < f.length; k++)
        if (f[k][0] !== ff[k][0] || f[k][1] !== ff[k][1] || f[k][2] !== ff[k][2])
          break;
      if (k === f.length) return i;
    }
    return -1;
  }

  function findings(body) {
    var c = D.check;
    if (!c) return;
    var sec = el('section');
    sec.id = 'findings';
    sec.setAttribute('data-exit', c.exit);
    add(sec, el('h2', null, 'Leak gate: ' + (c.exit === 0 ? 'clean' :
      c.exit === 1 ? plural(c.failing, 'finding') + ' fail' :
      'no verdict')));
    var words = 'exit status ' + c.exit + '; ' + c.suppressed +
      ' suppressed, ' + c.baselined + ' in the baseline';
    add(sec, el('p', 'muted', words + (c.why ? '. ' + c.why : '') +
      (c.note ? '. ' + c.note : '')));
    var ul = el('ul');
    for (var i = 0; i < c.findings.length; i++) {
      var f = c.findings[i], li = el('li', 'finding' + (f.fails ? '' : ' ok'));
      li.setAttribute('data-kind', f.kind);
      li.setAttribute('data-bytes', f.bytes);
      li.setAttribute('data-blocks', f.blocks);
      add(li, el('span', f.fails ? 'warn' : null, f.line));
      if (f.suppressed) add(li, el('span', 'muted', ' (suppressed by ' +
        f.suppressed + ')'));
      if (f.baselined) add(li, el('span', 'muted', ' (in the baseline)'));
      var det = add(el('details'), el('summary', 'mono', f.frames.length ?
        frameName(f.frames[0]) + ' ' + frameLoc(f.frames[0]) : 'no stack'));
      var at = siteOf(f.frames);
      if (at >= 0) {
        var go = el('button', null, 'site #' + (at + 1));
        go.addEventListener('click', pick.bind(null, at));
        add(li, document.createTextNode(' '), go);
      }
      if (f.retained_by) add(det, el('div', 'mono', 'retained by: ' +
        f.retained_by));
      var ol = el('ol');
      for (var k = 0; k < f.frames.length; k++)
        add(ol, el('li', 'mono', frameName(f.frames[k]) + ' ' +
          frameLoc(f.frames[k]) + (f.frames[k][3] ? ' [' + f.frames[k][3] +
          ']' : '')));
      add(li, add(det, ol));
      ul.appendChild(li);
    }
    body.appendChild(add(sec, ul));
  }

  // --- The chart ----------------------------------------------------------

  var W = 1000, H = 280, L = 70, B = 24, T = 10, RM = 10;
  var chartT = [];

  function chart(body) {
    var c = D.chart, n = c.i.length, top = 1, i, j;
    for (i = 0; i < n; i++) {
      chartT.push(D.snaps.t[c.i[i]]);
      top = Math.max(top, c.total[i]);
    }
    var t0 = chartT[0], t1 = Math.max(chartT[n - 1], t0 + 1e-3);
    function x(t) { return L + (t - t0) / (t1 - t0) * (W - L - RM); }
    function y(b) { return H - B - b / top * (H - B - T); }
    var s = sv('svg', { id: 'chart', viewBox: '0 0 ' + W + ' ' + H,
      'data-snaps': R.snap + 1, role: 'img' });
    add(s, named(sv('title', {}), 'Live bytes over time'));
    var low = new Array(n).fill(0);
    var bands = c.bands.concat([null]);
    for (j = 0; j < bands.length; j++) {
      var v = bands[j] || c.total.map(function (t, k) {
        return Math.max(0, t - low[k]);
      });
      var up = [], down = [];
      for (i = 0; i < n; i++) {
        up.push(x(chartT[i]).toFixed(1) + ',' + y(low[i] + v[i]).toFixed(1));
        down.push(x(chartT[n - 1 - i]).toFixed(1) + ',' +
          y(low[n - 1 - i]).toFixed(1));
      }
      for (i = 0; i < n; i++) low[i] += v[i];
      var p = sv('path', { d: 'M' + up.join('L') + 'L' + down.join('L') + 'Z',
        'class': 'band c' + (bands[j] ? j : 8),
        'data-site': bands[j] ? j : 'other', 'data-bytes': v[n - 1] });
      add(p, named(sv('title', {}), (bands[j] ? siteLabel(j) :
        'other sites') + ': ' + human(v[n - 1]) + ' at #' + R.snap));
      s.appendChild(p);
    }
    add(s, sv('line', { 'class': 'axis', x1: L, y1: H - B, x2: W - RM, y2: H - B }),
      sv('line', { 'class': 'axis', x1: L, y1: T, x2: L, y2: H - B }));
    for (i = 0; i <= 4; i++) {
      var b = top * i / 4, t = t0 + (t1 - t0) * i / 4;
      add(s, named(sv('text', { x: L - 6, y: y(b) + 4, 'text-anchor': 'end',
        'class': 'ytick' }), human(Math.round(b))));
      add(s, named(sv('text', { x: x(t), y: H - 6, 'text-anchor':
        i === 0 ? 'start' : i === 4 ? 'end' : 'middle',
        'class': 'xtick' }), t.toFixed(1) + ' s'));
    }
    for (i = 0; i < D.scans.length; i++) {
      var sc = D.scans[i];
      var ln = sv('line', { 'class': 'scan', x1: x(sc.t), x2: x(sc.t), y1: T,
        y2: H - B, 'data-snap': sc.snap, 'data-t': sc.t });
      add(ln, named(sv('title', {}), 'heap scan at ' + secs(sc.t)));
      s.appendChild(ln);
    }
    var cur = sv('line', { id: 'cursor', y1: T, y2: H - B });
    s.appendChild(cur);
    s.addEventListener('click', function (ev) {
      var r = s.getBoundingClientRect();
      var t = t0 + ((ev.clientX - r.left) * W / r.width - L) /
        (W - L - RM) * (t1 - t0), best = 0;
      for (var c2 = 0; c2 < D.cols.length; c2++)
        if (Math.abs(D.snaps.t[D.cols[c2]] - t) <
            Math.abs(D.snaps.t[D.cols[best]] - t)) best = c2;
      S.col = best;
      S.mode = 'live';
      S.zoom = '';
      update();
    });
    chart.cursor = function () {
      var cx = x(D.snaps.t[D.cols[S.col]]);
      cur.setAttribute('x1', cx);
      cur.setAttribute('x2', cx);
      cur.setAttribute('data-snap', D.cols[S.col]);
    };
    var sec = el('section');
    sec.id = 'chart-box';
    add(sec, el('h2', null, 'Live bytes over time'), s);
    var leg = el('div', 'legend');
    for (j = 0; j < bands.length; j++) {
      var item = add(el('span'), el('span', 'sw c' + (bands[j] ? j : 8)),
        document.createTextNode(bands[j] ? siteLabel(j) : 'other sites'));
      if (bands[j]) item.addEventListener('click', pick.bind(null, j));
      leg.appendChild(item);
    }
    add(sec, leg, el('div', 'muted', 'Dashed lines: heap scans. Click the ' +
      'chart for the flame graph at that time.'));
    body.appendChild(sec);
  }

  // --- The table of sites -------------------------------------------------

  var PAGE = 100;
  var KEYS = {
    report: null,
    live: function (s) { return -s.lb; },
    blocks: function (s) { return -s.lk; },
    rate: function (s) { return s.verdict === 'growing' ? -s.rate : Infinity; },
    peak: function (s) { return -s.peak; },
    name: null
  };

  function order() {
    var idx = [], i, f = S.filter.toLowerCase();
    for (i = 0; i < D.sites.length; i++) {
      if (f && (siteName(i) + ' ' + siteWhere(i)).toLowerCase().indexOf(f) < 0)
        continue;
      idx.push(i);
    }
    var key = KEYS[S.sort];
    if (S.sort === 'name')
      idx.sort(function (a, b) {
        return siteName(a) < siteName(b) ? -1 : siteName(a) > siteName(b) ? 1 :
          a - b;
      });
    else if (key)
      idx.sort(function (a, b) {
        var ka = key(D.sites[a]), kb = key(D.sites[b]);
        return ka < kb ? -1 : ka > kb ? 1 : a - b;
      });
    return idx;
  }

  function sparkline(s) {
    var g = sv('svg', { 'class': 'spark', viewBox: '0 0 96 20' }), pts = [];
    var n = s.spark.length, A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    for (var i = 0; i < n; i++)
      pts.push((n > 1 ? i * 96 / (n - 1) : 48).toFixed(1) + ',' +
        (19 - A.indexOf(s.spark[i]) * 18 / 63).toFixed(1));
    g.appendChild(sv('polyline', { points: pts.join(' ') }));
    return g;
  }

  function cell(row, cls, text, attr, value) {
    var td = el('td', cls, text);
    if (attr) td.setAttribute(attr, value);
    row.appendChild(td);
  }

  var tableBody, pager;
  function table(body) {
    var sec = el('section'), tools = el('div', 'tools');
    sec.id = 'table-box';
    var filter = el('input');
    filter.type = 'search';
    filter.placeholder = 'filter sites by function or file';
    filter.addEventListener('input', function () {
      S.filter = filter.value;
      S.page = 0;
      rows();
    });
    pager = el('span', 'pager');
    pager.id = 'sites-page';
    add(tools, filter, pager);
    var tab = el('table'), head = el('tr');
    tab.id = 'sites';
    var cols = [['', 'report'], ['site', 'name'], ['called from', null],
      ['live', 'live', 'num'],
      ['blocks', 'blocks', 'num'], ['growth', 'rate', 'num'],
      ['peak', 'peak', 'num'], ['verdict', null], ['trend', null]];
    cols.forEach(function (c) {
      var th = el('th', c[2] || null, c[0]);
      if (c[1]) {
        th.setAttribute('data-sort', c[1]);
        th.addEventListener('click', function () {
          S.sort = c[1];
          S.page = 0;
          rows();
          writeHash();
        });
      }
      head.appendChild(th);
    });
    tableBody = el('tbody');
    add(tab, add(el('thead'), head), tableBody);
    add(sec, el('h2', null, 'Sites'), tools, tab);
    body.appendChild(sec);
    table.head = head;
  }

  function rows() {
    var idx = order(), first = S.page * PAGE, i;
    clear(tableBody);
    var ths = table.head.children;
    for (i = 0; i < ths.length; i++)
      ths[i].classList.toggle('sorted', ths[i].getAttribute('data-sort') === S.sort);
    for (i = first; i < idx.length && i < first + PAGE; i++) {
      var k = idx[i], s = D.sites[k], tr = el('tr');
      tr.setAttribute('data-site', k);
      if (k === S.site) tr.className = 'picked';
      cell(tr, 'num muted', '#' + (k + 1));
      cell(tr, 'name', siteLabel(k));
      cell(tr, 'caller muted', callers(k));
      cell(tr, 'num live', human(s.lb), 'data-bytes', s.lb);
      cell(tr, 'num blocks', s.lk, 'data-blocks', s.lk);
      cell(tr, 'num rate', s.verdict === 'growing' ? rate(s.rate) : '',
        'data-rate', s.verdict === 'growing' ? s.rate : '');
      cell(tr, 'num peak', human(s.peak), 'data-bytes', s.peak);
      cell(tr, 'verdict ' + s.verdict, s.verdict);
      add(tr, add(el('td'), sparkline(s)));
      tr.addEventListener('click', pick.bind(null, k));
      tableBody.appendChild(tr);
    }
    clear(pager);
    var prev = el('button', null, '\u2190'), next = el('button', null, '\u2192');
    prev.disabled = S.page === 0;
    next.disabled = first + PAGE >= idx.length;
    prev.addEventListener('click', function () { S.page--; rows(); });
    next.addEventListener('click', function () { S.page++; rows(); });
    add(pager, prev, document.createTextNode(' ' + (idx.length ? first + 1 : 0) +
      '\u2013' + Math.min(idx.length, first + PAGE) + ' of ' + idx.length + ' '),
      next);
  }
