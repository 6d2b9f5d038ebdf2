// SPDX-License-Identifier: MIT
//
// leakspy-report --format html: the page's script, second part, inside
// the function page.js opens: the chosen site (stack, age profile,
// "retained by" chain), the flame graph, and the page put together.
  // --- A site -------------------------------------------------------------

  var bornCache = null;
  // Each site's live blocks at the report's snapshot by column of
  // allocation: an array of [column, bytes, blocks].
  function born() {
    if (bornCache || D.born === null) return bornCache;
    var r = new Reader(D.born), out = [];
    for (var i = 0; i < D.sites.length; i++) {
      var n = r.uv(), c = 0, list = [];
      for (var k = 0; k < n; k++) {
        c += r.uv();
        list.push([c, r.uv(), r.uv()]);
      }
      out.push(list);
    }
    bornCache = out;
    return out;
  }

  var detail;
  function siteBox(body) {
    detail = el('section');
    detail.id = 'site';
    body.appendChild(detail);
  }

  function showSite() {
    var i = S.site, s = D.sites[i], g;
    clear(detail);
    detail.setAttribute('data-site', i);
    var h = el('h2', null, 'Site #' + (i + 1) + ': ' + siteName(i));
    h.id = 'site-name';
    detail.appendChild(h);
    var growth = s.verdict + (s.verdict === 'growing' ? ' ' + rate(s.rate) +
      ' since ' + secs(s.since) + ', steadiness ' + s.steady.toFixed(2) : '') +
      ', peak ' + human(s.peak) + ' at ' + secs(s.peak_t) +
      (s.released !== null ? ', released at ' + secs(s.released) : '');
    var ages = null;
    if (s.age) {
      ages = el('span', null, 'median ' + secs(s.age[0]) + ', 90% younger than ' +
        secs(s.age[1]) + ', oldest ' + secs(s.age[2]));
      ages.id = 'ages';
      ages.setAttribute('data-median', s.age[0]);
      ages.setAttribute('data-p90', s.age[1]);
      ages.setAttribute('data-oldest', s.age[2]);
    }
    var reach = null;
    if (s.reach) {
      var rc = s.reach;
      reach = el('span', null, 'definitely lost ' + human(rc.definite[0]) +
        ', indirectly ' + human(rc.indirect[0]) + ', interior only ' +
        human(rc.interior[0]) + ', reachable ' + human(rc.reachable[0]));
      reach.id = 'reach';
      ['definite', 'indirect', 'interior', 'reachable'].forEach(function (k) {
        reach.setAttribute('data-' + k + '-bytes', rc[k][0]);
        reach.setAttribute('data-' + k + '-blocks', rc[k][1]);
      });
    }
    add(detail, facts([
      ['live', human(s.lb) + ' in ' + plural(s.lk, 'block')],
      ['allocated', human(s.ab) + ' in ' + plural(s.ak, 'block')],
      ['trend', growth],
      ['through', s.via],
      ['thread', R.by_thread ? s.thread || 'unnamed thread' : null],
      ['age', ages],
      ['reach', reach]
    ]));
    var chain = el('div', null, s.chain);
    chain.id = 'chain';
    if (s.chain) add(detail, el('div', 'muted', 'Retained by (innermost first, ' +
      'up to a root):'));
    detail.appendChild(chain);
    var b = born();
    if (b && b[i].length) {
      add(detail, el('div', 'muted', 'Live at #' + R.snap + ' by when it was ' +
        'allocated (left: before #' + D.cols[0] + '):'));
      // column c + 1: allocated after cols[c]; none after the last,
      // the report's snapshot
      var hist = el('div', 'hist'), top = 1, cnt = new Array(D.cols.length).fill(0);
      b[i].forEach(function (e) { cnt[e[0]] = e[1]; top = Math.max(top, e[1]); });
      cnt.forEach(function (v, c) {
        var bar = el('div');
        bar.style.height = (v / top * 100) + '%';
        bar.title = (c ? 'after #' + D.cols[c - 1] : 'before #' + D.cols[0]) +
          ': ' + human(v);
        hist.appendChild(bar);
      });
      detail.appendChild(hist);
    }
    add(detail, el('div', 'muted', 'Stack' + (s.trunc ? ' (cut at the depth ' +
      'limit)' : '') + ', innermost first:'));
    var ol = el('ol'), f = frames(i);
    ol.id = 'stack';
    for (g = 0; g < f.length; g++) {
      var li = el('li', f[g][5] ? 'inl' : null);
      add(li, el('span', 'fn', frameName(f[g])), el('span', 'loc', frameLoc(f[g])),
        el('span', 'mod', f[g][3] || ''));
      ol.appendChild(li);
    }
    detail.appendChild(ol);
  }

  function pick(i) {
    S.site = i;
    showSite();
    rows();
    writeHash();
    detail.scrollIntoView({ block: 'nearest' });
  }

  // --- The flame graph ------------------------------------------------------

  var liveCache = [];
  // Bytes and blocks of each site for the flame graph's mode.
  function weights() {
    var w = [], i;
    if (S.mode === 'diff') {
      var b = born();
      for (i = 0; i < D.sites.length; i++) {
        var by = 0, bl = 0;
        b[i].forEach(function (e) {
          if (e[0] >= S.from + 1) { by += e[1]; bl += e[2]; }
        });
        w.push([by, bl]);
      }
      return w;
    }
    if (S.col === D.cols.length - 1) {
      for (i = 0; i < D.sites.length; i++) w.push([D.sites[i].lb, D.sites[i].lk]);
      return w;
    }
    if (!liveCache[S.col]) {
      var r = new Reader(D.live[S.col]), k = -1;
      for (i = 0; i < D.sites.length; i++) w.push([0, 0]);
      while (r.more()) {
        k += r.uv() + 1;
        w[k] = [r.uv(), r.uv()];
      }
      liveCache[S.col] = w;
    }
    return liveCache[S.col];
  }

  function tree() {
    var w = weights(), top = { name: 'all', bytes: 0, blocks: 0, kids: {} };
    for (var i = 0; i < D.sites.length; i++) {
      if (!w[i][0] && !w[i][1]) continue;
      var f = frames(i), node = top, path = [];
      if (R.by_thread) path.push('[' + (D.sites[i].thread || 'unnamed thread') + ']');
      if (D.sites[i].trunc) path.push('[truncated]');
      for (var k = f.length - 1; k >= 0; k--) path.push(frameName(f[k]));
      top.bytes += w[i][0];
      top.blocks += w[i][1];
      for (k = 0; k < path.length; k++) {
        var kid = node.kids[path[k]];
        if (!kid) kid = node.kids[path[k]] = { name: path[k], bytes: 0, blocks: 0,
          kids: {} };
        kid.bytes += w[i][0];
        kid.blocks += w[i][1];
        node = kid;
      }
    }
    return top;
  }

  function hue(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 360;
    return 10 + h % 50;
  }

  var flameBox, flameInfo, flameMatch, modeSel, snapSel, fromSel, search;
  function flame(body) {
    var sec = el('section'), tools = el('div', 'tools');
    sec.id = 'flame-box';
    modeSel = el('select');
    [['live', 'live at snapshot'], ['diff', 'allocated since']].forEach(function (m) {
      var o = el('option', null, m[1]);
      o.value = m[0];
      modeSel.appendChild(o);
    });
    snapSel = el('select');
    fromSel = el('select');
    D.cols.forEach(function (c, k) {
      var o = el('option', null, '#' + c + ' (' + secs(D.snaps.t[c]) + ')');
      o.value = k;
      snapSel.appendChild(o);
      if (k + 1 < D.cols.length) {
        o = el('option', null, '#' + c + ' (' + secs(D.snaps.t[c]) + ')');
        o.value = k;
        fromSel.appendChild(o);
      }
    });
    if (D.born === null || D.cols.length < 2) modeSel.options[1].disabled = true;
    modeSel.addEventListener('change', function () {
      S.mode = modeSel.value; S.zoom = ''; update();
    });
    snapSel.addEventListener('change', function () {
      S.col = +snapSel.value; S.zoom = ''; update();
    });
    fromSel.addEventListener('change', function () {
      S.from = +fromSel.value; S.zoom = ''; update();
    });
    search = el('input');
    search.type = 'search';
    search.id = 'flame-search';
    search.placeholder = 'search functions';
    search.value = S.q;
    search.addEventListener('input', function () { S.q = search.value; drawFlame(); writeHash(); });
    var reset = el('button', null, 'reset zoom');
    reset.addEventListener('click', function () {
      S.zoom = ''; drawFlame(); writeHash();
    });
    flameMatch = el('span', 'muted');
    flameMatch.id = 'flame-match';
    add(tools, modeSel, snapSel, fromSel, search, reset, flameMatch);
    flameBox = el('div');
    flameBox.id = 'flame';
    flameInfo = el('div');
    flameInfo.id = 'flame-info';
    add(sec, el('h2', null, 'Flame graph'), tools, flameInfo, flameBox,
      el('div', 'muted', 'Root at the top; width is bytes. Click a frame to ' +
        'zoom in. "allocated since #A": blocks allocated after snapshot A and ' +
        'still live at #' + R.snap + '.'));
    body.appendChild(sec);
  }

  function drawFlame() {
    var t = tree(), q = S.q.toLowerCase(), matched = 0, nodes = 0;
    clear(flameBox);
    flameBox.setAttribute('data-mode', S.mode);
    flameBox.setAttribute('data-snap', S.mode === 'diff' ? R.snap : D.cols[S.col]);
    flameBox.setAttribute('data-from', S.mode === 'diff' ? D.cols[S.from] : '');
    flameBox.setAttribute('data-total', t.bytes);
    var width = flameBox.clientWidth || 1000;
    // the zoomed node and the path to it
    var path = S.zoom ? S.zoom.split('\u0001') : [], focus = t, chain = [t];
    for (var i = 0; i < path.length && focus.kids[path[i]]; i++) {
      focus = focus.kids[path[i]];
      chain.push(focus);
    }
    path = path.slice(0, chain.length - 1);
    var depth = 0, maxDepth = 0;
    function box(n, d, left, frac, anc, names) {
      var e = el('div', 'node' + (anc ? ' ancestor' : ''), n.name);
      e.setAttribute('data-name', n.name);
      e.setAttribute('data-bytes', n.bytes);
      e.setAttribute('data-blocks', n.blocks);
      e.setAttribute('data-depth', d);
      e.setAttribute('data-path', names.join(';'));
      e.style.left = (left * 100) + '%';
      e.style.width = (frac * 100) + '%';
      e.style.top = (d * 18) + 'px';
      e.style.setProperty('--h', hue(n.name));
      var share = t.bytes ? (n.bytes / t.bytes * 100).toFixed(2) : '0.00';
      e.title = n.name + '\n' + human(n.bytes) + ' (' + share + '%) in ' +
        plural(n.blocks, 'block');
      if (q && d > 0 && n.name.toLowerCase().indexOf(q) >= 0) e.classList.add('match');
      e.addEventListener('mouseenter', function () {
        flameInfo.textContent = e.title.replace('\n', ': ');
      });
      e.addEventListener('click', function (ev) {
        ev.stopPropagation();
        S.zoom = names.join('\u0001');
        drawFlame();
        writeHash();
      });
      flameBox.appendChild(e);
      nodes++;
      maxDepth = Math.max(maxDepth, d);
    }
    for (depth = 0; depth < chain.length - 1; depth++)
      box(chain[depth], depth, 0, 1, true, path.slice(0, depth));
    function walk(n, d, left, frac, names, inMatch) {
      var hit = q && d > 0 && n.name.toLowerCase().indexOf(q) >= 0;
      if (hit && !inMatch) matched += n.bytes;
      if (frac * width < 1 && d > 0) return;
      box(n, d, left, frac, false, names);
      var kids = Object.keys(n.kids).map(function (k) { return n.kids[k]; });
      kids.sort(function (a, b) { return b.bytes - a.bytes || (a.name < b.name ? -1 : 1); });
      var x = left;
      kids.forEach(function (k) {
        var f = n.bytes ? frac * k.bytes / n.bytes : 0;
        walk(k, d + 1, x, f, names.concat([k.name]), inMatch || hit);
        x += f;
      });
    }
    // matches below the drawn width still count
    function count(n, d, inMatch) {
      var hit = q && d > 0 && n.name.toLowerCase().indexOf(q) >= 0;
      if (hit && !inMatch) matched += n.bytes;
      for (var k in n.kids) count(n.kids[k], d + 1, inMatch || hit);
    }
    walk(focus, chain.length - 1, 0, 1, path, false);
    matched = 0;
    count(t, 0, false);
    flameBox.style.height = ((maxDepth + 1) * 18 + 4) + 'px';
    flameBox.setAttribute('data-zoom', path.join(';'));
    flameBox.setAttribute('data-nodes', nodes);
    flameMatch.setAttribute('data-bytes', q ? matched : 0);
    flameMatch.textContent = q ? 'matched ' + human(matched) + ' (' +
      (t.bytes ? (matched / t.bytes * 100).toFixed(2) : '0.00') + '%)' : '';
    flameInfo.textContent = (S.mode === 'diff' ? 'allocated after #' +
      D.cols[S.from] + ', live at #' + R.snap : 'live at #' + D.cols[S.col]) +
      ': ' + human(t.bytes) + ' in ' + plural(t.blocks, 'block');
  }

  function update() {
    modeSel.value = S.mode;
    snapSel.value = S.col;
    fromSel.value = S.from;
    snapSel.hidden = S.mode === 'diff';
    fromSel.hidden = S.mode !== 'diff';
    chart.cursor();
    drawFlame();
    writeHash();
  }

  // --- The page -------------------------------------------------------------

  var body = document.body;
  header(body);
  if (R && D.sites.length) {
    S.col = D.cols.length - 1;
    if (R.from !== null) {
      S.mode = 'diff';
      S.from = nearestCol(R.from);
    }
    readHash();
    if (S.mode === 'diff' && (D.born === null || D.cols.length < 2)) S.mode = 'live';
    findings(body);
    chart(body);
    table(body);
    siteBox(body);
    flame(body);
    rows();
    showSite();
    update();
  } else {
    findings(body);
    add(body, el('p', 'muted', R ? 'The dump has no sites.' :
      'The dump has no snapshot: nothing to draw.'));
  }
  root.setAttribute('data-render-ms', (performance.now() - started).toFixed(1));
  root.setAttribute('data-ready', '1');
})();
