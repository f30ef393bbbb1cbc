// The topology page: polls /api/topology (the receiver's memory sink) and draws it with cytoscape.
// Services are nodes (shape and colour say Kubernetes or VM), calls are edges labelled with their rate,
// error rate and p95 latency where a label fits without covering anything (else on hover and selection);
// a side panel lists every service with a sparkline of its last 15 minutes (/api/history) and details the
// selected service or call: a chart of its history and its errors by response code and Envoy response flag.
// Names come from workload metadata, so they are only ever set as text, never as HTML.
'use strict';
(function () {
  const REFRESH_MS = 2000;
  const COLORS = { kubernetes: '#326ce5', vm: '#e37400', unknown: '#80868b', ok: '#8a97ab', warn: '#f29900', bad: '#d93025', tcp: '#6b5ca5' };

  const $ = (id) => document.getElementById(id);
  const state = { topology: null, history: null, refreshes: 0, selected: null, layoutKey: '', arrangement: null, hiddenLabels: 0 };

  // ---- formatting ----
  const rate = (r) => (r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2));
  const percent = (x) => (x === 0 ? '0 %' : x < 0.001 ? '<0.1 %' : `${(x * 100).toFixed(1)} %`);
  const ms = (v) => (v == null ? '–' : `${v} ms`);
  const bytes = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);
  /** `cartservice.boutique` → `cartservice`; an address or a name without namespace stays whole. */
  const shortName = (name) => (/^[\d.:[\]]+$/.test(name) || !name.includes('.') ? name : name.slice(0, name.lastIndexOf('.')));
  const errorColor = (e) => (e > 0.05 ? COLORS.bad : e > 0.01 ? COLORS.warn : COLORS.ok);

  function edgeLabel(call) {
    const s = call.stats;
    if (call.protocols.includes('TCP') && call.protocols.length === 1) {
      return `${rate(s.ratePerSecond)} conn/s · ${bytes(s.receivedBytes + s.sentBytes)}\np95 ${ms(s.latencyMs && s.latencyMs.p95)}`;
    }
    return `${rate(s.ratePerSecond)} req/s · ${percent(s.errorRate)} err\np95 ${ms(s.latencyMs && s.latencyMs.p95)}`;
  }

  // ---- the graph ----
  /** As wide as the name (bold 11 px), so short names leave room for the labels of their calls. */
  const nodeWidth = (n) => Math.max(84, Math.round(6.9 * String(n.data('label')).length) + 22);
  const cy = cytoscape({
    container: $('graph'),
    minZoom: 0.2,
    maxZoom: 3,
    style: [
      { selector: 'node', style: {
        label: 'data(label)', color: '#fff', 'font-size': 11, 'font-weight': 600, 'text-valign': 'center', 'text-halign': 'center',
        width: (n) => nodeWidth(n), height: 34, 'border-width': 0,
      } },
      { selector: 'node[platform = "kubernetes"]', style: { shape: 'round-rectangle', 'background-color': COLORS.kubernetes } },
      { selector: 'node[platform = "vm"]', style: { shape: 'hexagon', 'background-color': COLORS.vm, width: (n) => nodeWidth(n) + 26 } },
      { selector: 'node[platform = "unknown"]', style: { shape: 'ellipse', 'background-color': COLORS.unknown } },
      { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#16213a' } },
      { selector: 'edge', style: {
        'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'arrow-scale': 1.1,
        width: 'data(width)', 'line-color': 'data(color)', 'target-arrow-color': 'data(color)',
        label: 'data(label)', 'font-size': 10, color: '#1f2933', 'text-wrap': 'wrap',
        'text-background-color': '#fff', 'text-background-opacity': 0.9, 'text-background-padding': 2,
        'text-border-width': 1, 'text-border-color': '#e1e6ee', 'text-border-opacity': 1,
      } },
      { selector: 'edge[?tcp]', style: { 'line-style': 'dashed', 'line-color': COLORS.tcp, 'target-arrow-color': COLORS.tcp } },
      // A label with no free spot (placeLabels) shows only while its edge is hovered or selected, on top.
      { selector: 'edge.nolabel', style: { label: '' } },
      { selector: 'edge.hover, edge:selected', style: { label: 'data(label)', 'z-index': 100, 'z-compound-depth': 'top' } },
      { selector: 'edge:selected', style: { 'line-color': '#16213a', 'target-arrow-color': '#16213a' } },
    ],
  });

  // ---- layout: layered by call depth, oriented and wrapped to fit the pane ----
  const NODE_H = 34;
  /** Room between layers for the edge labels (two lines of 10 px text), and between neighbours. */
  const GAP = { LR: { layer: 150, lane: 34 }, TB: { layer: 96, lane: 36 } };

  /** Each service's layer: one more than its deepest caller's (roots first), so every call points onward. */
  function layers() {
    const depth = new Map();
    const depthOf = (node, seen) => {
      if (depth.has(node.id())) return depth.get(node.id());
      if (seen.has(node.id())) return 0; // a cycle: cut it here
      seen.add(node.id());
      const callers = node.incomers('node').filter((n) => n.id() !== node.id());
      const d = callers.length ? 1 + Math.max(...callers.map((c) => depthOf(c, seen))) : 0;
      depth.set(node.id(), d);
      return d;
    };
    const out = [];
    cy.nodes().forEach((n) => { const d = depthOf(n, new Set()); (out[d] = out[d] || []).push(n); });
    // Within a layer, ordered by where the callers sit (fewer crossings), then by name.
    const order = new Map();
    return out.filter(Boolean).map((nodes) => {
      const at = (n) => {
        const placed = n.incomers('node').map((c) => order.get(c.id())).filter((x) => x !== undefined);
        return placed.length ? placed.reduce((a, b) => a + b, 0) / placed.length : 0.5;
      };
      const sorted = nodes.map((n) => ({ n, at: at(n) })).sort((a, b) => a.at - b.at || (a.n.id() < b.n.id() ? -1 : 1)).map((x) => x.n);
      sorted.forEach((n, i) => order.set(n.id(), (i + 0.5) / sorted.length));
      return sorted;
    });
  }

  /**
   * Positions for one arrangement: layers along `orient` (LR: columns, TB: rows); a layer with more than
   * `lane` services is split into staggered sub-lanes, so wide layers fold instead of shrinking the picture.
   */
  function arrange(ls, orient, lane) {
    const pos = new Map();
    const gap = GAP[orient];
    let along = 0;
    for (const nodes of ls) {
      const subs = Math.max(1, Math.ceil(nodes.length / lane));
      const maxW = Math.max(...nodes.map((n) => n.outerWidth()));
      // Size of one service across the layer, and of the layer along the flow.
      const across = orient === 'LR' ? NODE_H + gap.lane : maxW + gap.lane;
      const thick = orient === 'LR' ? maxW : NODE_H;
      const step = across / subs; // neighbours alternate sub-lanes: the same sub-lane is `across` apart
      nodes.forEach((n, i) => {
        const a = along + thick / 2 + (i % subs) * (thick + gap.layer / 2);
        const c = (i - (nodes.length - 1) / 2) * step;
        pos.set(n.id(), orient === 'LR' ? { x: a, y: c } : { x: c, y: a });
      });
      along += subs * thick + (subs - 1) * gap.layer / 2 + gap.layer;
    }
    return pos;
  }

  /** The arrangement drawn largest in the pane: either orientation, layers folded at any width. */
  function runLayout() {
    const ls = layers();
    if (!ls.length) return;
    const pane = $('graph');
    const W = Math.max(1, pane.clientWidth - 40);
    const H = Math.max(1, pane.clientHeight - 40);
    const widest = Math.max(...ls.map((l) => l.length));
    let best = null;
    for (const orient of ['LR', 'TB']) {
      for (let lane = widest; lane >= Math.min(widest, 2); lane--) {
        const pos = arrange(ls, orient, lane);
        const box = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
        cy.nodes().forEach((n) => {
          const p = pos.get(n.id());
          box.x1 = Math.min(box.x1, p.x - n.outerWidth() / 2); box.x2 = Math.max(box.x2, p.x + n.outerWidth() / 2);
          box.y1 = Math.min(box.y1, p.y - NODE_H / 2); box.y2 = Math.max(box.y2, p.y + NODE_H / 2);
        });
        const zoom = Math.min(W / (box.x2 - box.x1), H / (box.y2 - box.y1), 1.25);
        if (!best || zoom > best.zoom * 1.02) best = { zoom, pos, orient, lane };
      }
    }
    state.arrangement = { orient: best.orient, lane: best.lane, zoom: best.zoom };
    cy.layout({ name: 'preset', positions: (n) => best.pos.get(n.id()), fit: false, animate: false }).run();
    cy.fit(undefined, 20);
    if (cy.zoom() > 1.25) { cy.zoom(1.25); cy.center(); }
    placeLabels();
  }

  // ---- edge labels: placed where they overlap nothing, else shown on hover and selection ----
  const overlaps = (a, b, pad) => a.x1 < b.x2 + pad && b.x1 < a.x2 + pad && a.y1 < b.y2 + pad && b.y1 < a.y2 + pad;
  const shifted = (b, dx, dy) => ({ x1: b.x1 + dx, x2: b.x2 + dx, y1: b.y1 + dy, y2: b.y2 + dy });
  /** Whether segment p→q passes through box b (clipped against each side in turn). */
  function crosses(p, q, b) {
    let t0 = 0;
    let t1 = 1;
    const dx = q.x - p.x;
    const dy = q.y - p.y;
    for (const [den, num] of [[-dx, p.x - b.x1], [dx, b.x2 - p.x], [-dy, p.y - b.y1], [dy, b.y2 - p.y]]) {
      if (den === 0) { if (num < 0) return false; continue; }
      const t = num / den;
      if (den < 0) t0 = Math.max(t0, t); else t1 = Math.min(t1, t);
      if (t0 > t1) return false;
    }
    return true;
  }
  const LABEL_BOX = { includeNodes: false, includeEdges: false, includeLabels: true, includeOverlays: false, includeUnderlays: false };

  /**
   * Greedy: the selected service's calls first, then the busiest; each label slides along its edge to the
   * first spot clear of every service and every label already placed, preferring one no other call's line
   * crosses (cytoscape draws a label with its own edge, so a later edge would be drawn over it); a label
   * with no clear spot is hidden.
   */
  function placeLabels() {
    const obstacles = cy.nodes().map((n) => n.boundingBox({ includeLabels: true, includeOverlays: false, includeUnderlays: false }));
    const selected = state.selected && state.selected.kind === 'service' ? state.selected.id : null;
    const rank = (e) => (selected && (e.source().id() === selected || e.target().id() === selected) ? 1e9 : 0) + (e.data('rate') || 0);
    const edges = cy.edges().sort((a, b) => rank(b) - rank(a));
    cy.batch(() => edges.forEach((e) => { e.removeClass('nolabel'); e.style({ 'text-margin-x': 0, 'text-margin-y': 0 }); }));
    const hidden = [];
    const lines = edges.map((e) => ({ e, s: e.sourceEndpoint(), t: e.targetEndpoint() }));
    edges.forEach((e) => {
      const box = e.boundingBox(LABEL_BOX);
      if (!(box.w > 0)) return;
      const s = e.sourceEndpoint();
      const t = e.targetEndpoint();
      const clear = [];
      for (const f of [0, -0.1, 0.1, -0.2, 0.2, -0.28, 0.28]) {
        const dx = (t.x - s.x) * f;
        const dy = (t.y - s.y) * f;
        const b = shifted(box, dx, dy);
        if (!obstacles.some((o) => overlaps(b, o, 3))) clear.push({ b, dx, dy, crossed: lines.some((l) => l.e !== e && crosses(l.s, l.t, b)) });
      }
      const spot = clear.find((c) => !c.crossed) || clear[0];
      if (!spot) return hidden.push(e);
      obstacles.push(spot.b);
      e.style({ 'text-margin-x': spot.dx, 'text-margin-y': spot.dy });
    });
    cy.batch(() => hidden.forEach((e) => e.addClass('nolabel')));
    state.hiddenLabels = hidden.length;
  }

  function sync(topology) {
    const maxRate = Math.max(0.01, ...topology.calls.map((c) => c.stats.ratePerSecond));
    const wanted = new Set();
    cy.batch(() => {
      for (const s of topology.services) {
        wanted.add(s.name);
        const data = { id: s.name, label: shortName(s.name), platform: s.platform };
        const node = cy.getElementById(s.name);
        if (node.nonempty()) node.data(data);
        else cy.add({ group: 'nodes', data });
      }
      for (const c of topology.calls) {
        const id = `call:${c.id}`;
        wanted.add(id);
        const data = {
          id, call: c.id, source: c.source, target: c.target, label: edgeLabel(c), protocols: c.protocols.join(','),
          tcp: c.protocols.length === 1 && c.protocols[0] === 'TCP', reportedBy: c.reportedBy,
          rate: c.stats.ratePerSecond, errorRate: c.stats.errorRate, p95: c.stats.latencyMs ? c.stats.latencyMs.p95 : null,
          width: 1.5 + 4.5 * Math.sqrt(c.stats.ratePerSecond / maxRate), color: errorColor(c.stats.errorRate),
        };
        const edge = cy.getElementById(id);
        if (edge.nonempty()) edge.data(data);
        else cy.add({ group: 'edges', data });
      }
      cy.elements().filter((e) => !wanted.has(e.id())).remove();
    });
    // Lay out again only when the set of services or calls changed, so the picture holds still; the labels'
    // text changes every refresh, so they are placed again each time.
    const key = [...wanted].sort().join('|');
    if (key !== state.layoutKey) {
      state.layoutKey = key;
      runLayout();
    } else {
      placeLabels();
    }
    $('empty').hidden = topology.services.length > 0;
  }

  // ---- the side panel ----
  const SVG = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, ...children) {
    const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  const badge = (platform) => el('span', { class: `badge ${platform}` }, platform === 'kubernetes' ? 'K8s' : platform === 'vm' ? 'VM' : '?');

  /** Polyline points of `values` scaled into w × h, the largest at the top; null (no calls) is skipped. */
  function points(values, w, h, max) {
    const n = values.length;
    return values.map((v, i) => (v == null ? '' : `${((i / Math.max(1, n - 1)) * w).toFixed(1)},${(h - (v / max) * h).toFixed(1)}`))
      .filter(Boolean).join(' ');
  }

  /** A series of /api/history without its last step: that one is still running, its numbers partial. */
  function completed(series) {
    const cut = (a) => a.slice(0, -1);
    return { ...series, rate: cut(series.rate), errorRate: cut(series.errorRate), p95: cut(series.p95) };
  }

  /** The requests/s of the last 15 minutes, with a red tick under every step that had errors. */
  function sparkline(series) {
    const w = 72;
    const h = 20;
    const max = Math.max(...series.rate, 1e-9);
    const svg = el('svg:svg', { class: 'spark', width: w, height: h + 3, viewBox: `0 0 ${w} ${h + 3}`, 'data-points': series.rate.length, 'data-max': max.toFixed(3) },
      el('svg:title', {}, `requests/s over the last ${Math.round((series.rate.length * state.history.stepSeconds) / 60)} min (max ${rate(max)}/s)`),
      el('svg:polyline', { points: points(series.rate, w, h, max), class: 'spark-rate' }));
    series.errorRate.forEach((e, i) => {
      if (e > 0) svg.append(el('svg:rect', { x: ((i / (series.rate.length - 1)) * w - 1).toFixed(1), y: h + 0.5, width: 2, height: 2.5, class: 'spark-err' }));
    });
    return svg;
  }

  function renderTable(topology) {
    const body = $('services').tBodies[0];
    const history = state.history;
    body.replaceChildren(...topology.services.map((s) => {
      const inb = s.inbound;
      const series = history && history.services[s.name] && completed(history.services[s.name]);
      const row = el('tr', { 'data-service': s.name },
        el('td', { title: s.name, class: 'name' }, shortName(s.name)),
        el('td', {}, badge(s.platform)),
        el('td', { class: 'num' }, inb.calls ? rate(inb.ratePerSecond) : '–'),
        el('td', { class: `num${inb.errorRate > 0.01 ? ' err' : ''}` }, inb.calls ? percent(inb.errorRate) : '–'),
        el('td', { class: 'num' }, inb.latencyMs ? ms(inb.latencyMs.p95) : '–'),
        el('td', { class: 'trend' }, series ? sparkline(series) : ''));
      if (state.selected && state.selected.kind === 'service' && s.name === state.selected.id) row.classList.add('selected');
      row.addEventListener('click', () => select({ kind: 'service', id: s.name }));
      return row;
    }));
    $('window').textContent = `(rates over ${topology.windowSeconds} s)`;
  }

  function statsList(title, st) {
    const p = st.latencyMs;
    return [
      el('dt', {}, title), el('dd', {}, st.calls ? `${st.calls} calls · ${rate(st.ratePerSecond)}/s · ${percent(st.errorRate)} errors` : 'none'),
      ...(p ? [el('dt', {}, ''), el('dd', {}, `p50 ${ms(p.p50)} · p95 ${ms(p.p95)} · p99 ${ms(p.p99)}`)] : []),
      ...(st.receivedBytes || st.sentBytes ? [el('dt', {}, ''), el('dd', {}, `TCP ${bytes(st.receivedBytes)} in · ${bytes(st.sentBytes)} out`)] : []),
    ];
  }

  const CHART_ROWS = [
    { key: 'rate', title: 'requests/s', color: '#326ce5', fmt: (v) => rate(v) },
    { key: 'errorRate', title: 'error rate', color: '#d93025', fmt: (v) => percent(v) },
    { key: 'p95', title: 'p95 latency', color: '#6b5ca5', fmt: (v) => ms(Math.round(v)) },
  ];

  /** Three small charts, one above the other, over the history's steps: requests/s, error rate, p95. */
  function chart(series) {
    const w = 360;
    const h = 42;
    const left = 0;
    const gap = 22;
    const svg = el('svg:svg', { id: 'details-chart', class: 'chart', viewBox: `0 0 ${w} ${CHART_ROWS.length * (h + gap) + 14}`, role: 'img',
      'aria-label': `history over the last ${Math.round((series.rate.length * state.history.stepSeconds) / 60)} minutes` });
    CHART_ROWS.forEach((row, r) => {
      const values = series[row.key];
      const max = Math.max(...values.map((v) => v || 0), row.key === 'errorRate' ? 0.01 : 1e-9);
      const top = r * (h + gap) + 14;
      const last = [...values].reverse().find((v) => v != null);
      svg.append(
        el('svg:text', { x: left, y: top - 4, class: 'chart-title' }, `${row.title}: now ${last == null ? '–' : row.fmt(last)} · max ${row.fmt(max)}`),
        el('svg:line', { x1: left, x2: w, y1: top + h, y2: top + h, class: 'chart-axis' }),
        el('svg:polyline', { points: points(values, w - left, h, max), transform: `translate(${left},${top})`, stroke: row.color, class: 'chart-line', 'data-series': row.key, 'data-points': values.filter((v) => v != null).length }));
      // The latest step as a dot: visible even while the history holds a single step.
      const i = values.length - 1 - [...values].reverse().findIndex((v) => v != null);
      if (last != null) svg.append(el('svg:circle', { cx: left + (i / Math.max(1, values.length - 1)) * (w - left), cy: top + h - (last / max) * h, r: 2.5, fill: row.color }));
    });
    const minutes = Math.round((series.rate.length * state.history.stepSeconds) / 60);
    svg.append(el('svg:text', { x: left, y: CHART_ROWS.length * (h + gap) + 10, class: 'chart-time' }, `−${minutes} min`),
      el('svg:text', { x: w, y: CHART_ROWS.length * (h + gap) + 10, class: 'chart-time', 'text-anchor': 'end' }, 'now'));
    return svg;
  }

  /** Errors by response code and by Envoy response flag, as the callers' and the server's sidecars saw them. */
  function breakdown(series) {
    const sides = ['client', 'server'].filter((p) => series.sides[p]);
    const minutes = Math.round((series.rate.length * state.history.stepSeconds) / 60);
    const errors = sides.reduce((n, p) => n + series.sides[p].errors, 0);
    if (!errors) return el('p', { class: 'hint', id: 'breakdown' }, `No errors in the last ${minutes} min.`);
    const table = (title, field) => {
      const keys = [...new Set(sides.flatMap((p) => Object.keys(series.sides[p][field])))]
        .sort((a, b) => sides.reduce((n, p) => n + (series.sides[p][field][b] || 0) - (series.sides[p][field][a] || 0), 0));
      return el('table', { class: 'breakdown', 'data-field': field },
        el('thead', {}, el('tr', {}, el('th', {}, title), ...sides.map((p) => el('th', { title: `errors as the ${p} side's sidecar logged them` }, p === 'client' ? 'seen by callers' : 'seen by server')))),
        el('tbody', {}, ...keys.map((k) => el('tr', { 'data-key': k }, el('td', {}, k), ...sides.map((p) => el('td', { class: 'num' }, series.sides[p][field][k] || 0))))));
    };
    return el('div', { id: 'breakdown' },
      el('h3', {}, `Errors in the last ${minutes} min`),
      table('response code', 'errorCodes'), table('Envoy response flag', 'errorFlags'));
  }

  function historyOf(sel) {
    const h = state.history;
    if (!h || !sel) return null;
    const series = sel.kind === 'service' ? h.services[sel.id] : h.calls[sel.id];
    return series ? completed(series) : null;
  }

  function renderDetails(topology) {
    const sel = state.selected;
    const s = sel && sel.kind === 'service' ? topology.services.find((x) => x.name === sel.id) : null;
    const c = sel && sel.kind === 'call' ? topology.calls.find((x) => x.id === sel.id) : null;
    if (!s && !c) {
      $('details-title').textContent = 'Details';
      $('details-body').replaceChildren(el('p', { class: 'hint' }, 'Click a service or a call in the graph, or a service in the table.'));
      return;
    }
    const series = historyOf(sel);
    const history = series ? [chart(series), breakdown(series)] : [el('p', { class: 'hint' }, 'History: waiting for /api/history…')];
    if (c) {
      $('details-title').textContent = `${shortName(c.source)} → ${shortName(c.target)}`;
      $('details-body').replaceChildren(
        el('dl', {}, ...statsList(`${c.protocols.join('/')} (${c.reportedBy})`, c.stats)), ...history);
      return;
    }
    $('details-title').replaceChildren(document.createTextNode(`${s.name} `), badge(s.platform));
    const edges = (dir) => topology.calls.filter((x) => (dir === 'out' ? x.source : x.target) === s.name).map((x) =>
      el('li', {}, `${dir === 'out' ? '→ ' + shortName(x.target) : '← ' + shortName(x.source)} (${x.protocols.join('/')}): ` +
        `${rate(x.stats.ratePerSecond)}/s, ${percent(x.stats.errorRate)} err, p95 ${ms(x.stats.latencyMs && x.stats.latencyMs.p95)}`));
    $('details-body').replaceChildren(
      el('dl', {}, ...statsList('served', s.inbound), ...statsList('called', s.outbound),
        el('dt', {}, 'instances'), el('dd', { class: 'instances' }, s.instances.join(', ') || '–')),
      ...history,
      el('ul', { class: 'details-edges' }, ...edges('in'), ...edges('out')));
  }

  function render() {
    if (!state.topology) return;
    renderTable(state.topology);
    renderDetails(state.topology);
  }

  function select(sel) {
    state.selected = sel;
    cy.elements().unselect();
    if (sel) cy.getElementById(sel.kind === 'service' ? sel.id : `call:${sel.id}`).select();
    placeLabels();
    render();
  }
  cy.on('tap', 'node', (evt) => select({ kind: 'service', id: evt.target.id() }));
  cy.on('tap', 'edge', (evt) => select({ kind: 'call', id: evt.target.data('call') }));
  cy.on('tap', (evt) => { if (evt.target === cy) select(null); });
  cy.on('mouseover', 'edge', (evt) => evt.target.addClass('hover'));
  cy.on('mouseout', 'edge', (evt) => evt.target.removeClass('hover'));

  // The pane changes size with the window (and moves under the graph on narrow ones): arrange again.
  let resizing = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => { cy.resize(); runLayout(); });
  });

  // ---- polling ----
  async function getJson(path) {
    const res = await fetch(path, { cache: 'no-store' });
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    return res.json();
  }

  async function refresh() {
    const status = $('status');
    try {
      const [topology, history] = await Promise.all([getJson('/api/topology'), getJson('/api/history')]);
      state.topology = topology;
      state.history = history;
      sync(topology);
      render();
      state.refreshes++;
      status.className = 'status live';
      status.textContent = `${topology.services.length} services · ${topology.calls.length} calls · updated ${new Date(topology.generatedAt).toLocaleTimeString()}`;
    } catch (err) {
      status.className = 'status error';
      status.textContent = `receiver unreachable: ${err.message}`;
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  // For tests and curious users: the graph library's state and the last topology and history read.
  window.meshscope = { cy, state, runLayout, placeLabels };
  refresh();
})();
