// The topology page: polls /api/topology (the receiver's memory sink) and draws it with cytoscape.
// Services are nodes (shape and colour say Kubernetes or VM), calls are edges labelled with their rate,
// error rate and p95 latency; a side panel lists every service and details the selected one. Names come
// from workload metadata, so they are only ever set as text, never as HTML.
'use strict';
(function () {
  const REFRESH_MS = 2000;
  const COLORS = { kubernetes: '#326ce5', vm: '#e37400', unknown: '#80868b', ok: '#8a97ab', warn: '#f29900', bad: '#d93025', tcp: '#6b5ca5' };

  const $ = (id) => document.getElementById(id);
  const state = { topology: null, refreshes: 0, selected: null, layoutKey: '' };

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
      { selector: 'edge:selected', style: { 'line-color': '#16213a', 'target-arrow-color': '#16213a' } },
    ],
  });

  /**
   * Left to right by call depth: a service's column is one more than its deepest caller's (roots first), so
   * every edge of the call graph points right; within a column, services are centred and sorted by name.
   */
  function runLayout() {
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
    const columns = [];
    cy.nodes().forEach((n) => {
      const d = depthOf(n, new Set());
      (columns[d] = columns[d] || []).push(n);
    });
    // Each column ordered by where its callers sit (fewer crossings), then centred. Rows are counted in
    // halves: a column shorter than the longest sits half a row off, so the calls that skip over it
    // (their labels at mid-length) pass between its services rather than through them.
    const rows = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
    const cell = new Map();
    columns.forEach((nodes, col) => {
      const at = (n) => {
        const placed = n.incomers('node').map((c) => cell.get(c.id())).filter((c) => c && c.col < col);
        return placed.length ? placed.reduce((sum, c) => sum + c.row, 0) / placed.length : rows;
      };
      const keyed = (nodes || []).map((n) => ({ id: n.id(), at: at(n) }))
        .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
      keyed.forEach((k, i) => cell.set(k.id, { col, row: rows - keyed.length + 2 * i }));
    });
    cy.layout({
      name: 'grid', rows: 2 * rows - 1, cols: columns.length, fit: true, padding: 30, avoidOverlap: true, animate: false,
      position: (n) => cell.get(n.id()),
    }).run();
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
          id, source: c.source, target: c.target, label: edgeLabel(c), protocols: c.protocols.join(','),
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
    // Lay out again only when the set of services or calls changed, so the picture holds still.
    const key = [...wanted].sort().join('|');
    if (key !== state.layoutKey) {
      state.layoutKey = key;
      runLayout();
    }
    $('empty').hidden = topology.services.length > 0;
  }

  // ---- the side panel ----
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  const badge = (platform) => el('span', { class: `badge ${platform}` }, platform === 'kubernetes' ? 'K8s' : platform === 'vm' ? 'VM' : '?');

  function renderTable(topology) {
    const body = $('services').tBodies[0];
    body.replaceChildren(...topology.services.map((s) => {
      const inb = s.inbound;
      const row = el('tr', { 'data-service': s.name },
        el('td', { title: s.name }, shortName(s.name)),
        el('td', {}, badge(s.platform)),
        el('td', { class: 'num' }, inb.calls ? rate(inb.ratePerSecond) : '–'),
        el('td', { class: `num${inb.errorRate > 0.01 ? ' err' : ''}` }, inb.calls ? percent(inb.errorRate) : '–'),
        el('td', { class: 'num' }, inb.latencyMs ? ms(inb.latencyMs.p95) : '–'));
      if (s.name === state.selected) row.classList.add('selected');
      row.addEventListener('click', () => select(s.name));
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

  function renderDetails(topology) {
    const s = topology.services.find((x) => x.name === state.selected);
    if (!s) {
      $('details-title').textContent = 'Service details';
      $('details-body').replaceChildren(el('p', { class: 'hint' }, 'Click a service in the graph or the table.'));
      return;
    }
    $('details-title').replaceChildren(document.createTextNode(`${s.name} `), badge(s.platform));
    const edges = (dir) => topology.calls.filter((c) => (dir === 'out' ? c.source : c.target) === s.name).map((c) =>
      el('li', {}, `${dir === 'out' ? '→ ' + shortName(c.target) : '← ' + shortName(c.source)} (${c.protocols.join('/')}): ` +
        `${rate(c.stats.ratePerSecond)}/s, ${percent(c.stats.errorRate)} err, p95 ${ms(c.stats.latencyMs && c.stats.latencyMs.p95)}`));
    $('details-body').replaceChildren(
      el('dl', {}, ...statsList('served', s.inbound), ...statsList('called', s.outbound),
        el('dt', {}, 'instances'), el('dd', { class: 'instances' }, s.instances.join(', ') || '–')),
      el('ul', { class: 'details-edges' }, ...edges('in'), ...edges('out')));
  }

  function select(name) {
    state.selected = name;
    cy.elements().unselect();
    if (name) cy.getElementById(name).select();
    if (state.topology) {
      renderTable(state.topology);
      renderDetails(state.topology);
    }
  }
  cy.on('tap', 'node', (evt) => select(evt.target.id()));
  cy.on('tap', (evt) => { if (evt.target === cy) select(null); });

  // ---- polling ----
  async function refresh() {
    const status = $('status');
    try {
      const res = await fetch('/api/topology', { cache: 'no-store' });
      if (!res.ok) throw new Error(`/api/topology answered ${res.status}`);
      const topology = await res.json();
      state.topology = topology;
      renderTable(topology);
      renderDetails(topology);
      sync(topology);
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

  // For tests and curious users: the graph library's state and the last topology read.
  window.meshscope = { cy, state };
  refresh();
})();
