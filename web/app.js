// SPDX-License-Identifier: Apache-2.0
// dse-manager's web page (index.html): a client of the REST API, /api/v1
// (manager/api.h).  The token of POST /login is kept in sessionStorage and
// sent as a bearer on every call; a 401 brings the login back.  What is on
// screen is fetched again every REFRESH_MS: the tree every few refreshes,
// the charts in place.  Text from the manager goes into the page as text
// nodes, never as HTML.
'use strict';

const API = '/api/v1';
const REFRESH_MS = 3000;
const TREE_EVERY = 5; // refreshes
const KIND = { datacenter: 'DC', cluster: 'Cluster', host: 'Host', dpu: 'DPU', vm: 'VM' };
const COLORS = { dpu: '#0d6efd', dpu2: '#6f42c1', host: '#fd7e14', host2: '#adb5bd' };

const state = {
  token: sessionStorage.getItem('dse.token'),
  user: sessionStorage.getItem('dse.user'),
  tab: 'object',
  selected: null, // {kind, name}
  window: 'hour', // of the DPU's charts
  charts: {},
  step: 60000, // ms between the charts' time ticks
  acking: new Set(), // "HOST ID" of acks under way
  gen: 0, // bumped when what is shown changes: a late answer is dropped
  timer: null,
  ticks: 0,
  busy: false,
};

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// el('td', {class, text, onclick, data-x...}, child...): an element; strings
// become text nodes.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid !== null && kid !== undefined) e.append(kid instanceof Node ? kid : String(kid));
  }
  return e;
}

// ---- the API ----

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (state.token) opts.headers.Authorization = 'Bearer ' + state.token;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(API + path, opts);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && path !== '/login') showLogin('Your session ended: log in again.');
  if (!r.ok) throw new Error(data.message || `${r.status} ${r.statusText}`);
  return data;
}

// Every item of a list, page after page ('after' names the last one).
async function listAll(what, max = 20) {
  let items = [];
  let after = '';
  for (let page = 0; page < max; page++) {
    const r = await api('GET', `/${what}?limit=100${after ? '&after=' + enc(after) : ''}`);
    items = items.concat(r.items);
    if (!r.next) break;
    after = r.next;
  }
  return items;
}

// Polls task 'id' until it ends (or 30 s), calling 'progress' with it.
async function watchTask(id, progress) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const t = await api('GET', `/tasks/${enc(id)}`);
    if (progress) progress(t);
    if (t.state === 'success' || t.state === 'error' || Date.now() > deadline) return t;
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

function showError(e) {
  $('error').textContent = e ? String(e.message || e) : '';
  $('error').hidden = !e;
}

// ---- formats ----

function fmtPct(v) {
  if (v == null) return '—';
  const p = v * 100;
  return `${p.toFixed(p && p < 1 ? 2 : p < 10 ? 1 : 0)} %`;
}
const fmtTime = (ms, seconds = true) => new Date(ms).toLocaleTimeString([],
  { hour: '2-digit', minute: '2-digit', second: seconds ? '2-digit' : undefined, hour12: false });
const fmtDate = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
function fmtRate(v) {
  if (v == null) return '—';
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) (v /= 1000), i++;
  return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
}
const STATE_CLASS = {
  red: 'bg-danger', yellow: 'bg-warning text-dark', green: 'bg-success', gray: 'bg-secondary',
  reachable: 'bg-success', up: 'bg-success', unreachable: 'bg-danger', down: 'bg-danger',
};
const badge = (s) => el('span', { class: `badge ${STATE_CLASS[s] || 'bg-light text-dark'}`, text: s });

// The sum of metric 'name' in a sample (metric_set_json(): [name, labels,
// value]...), or null when it has none.
function metric(sample, name) {
  let sum = null;
  for (const [n, , v] of (sample && sample.metrics) || []) if (n === name) sum = (sum || 0) + v;
  return sum;
}

// ---- login ----

function showLogin(message) {
  clearInterval(state.timer);
  state.timer = null;
  state.token = null;
  sessionStorage.removeItem('dse.token');
  $('app-view').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login-view').hidden = false;
  $('login-error').textContent = message || '';
}

async function login(ev) {
  ev.preventDefault();
  const user = $('login-user').value;
  try {
    const r = await api('POST', '/login', { user, password: $('login-password').value });
    state.token = r.token;
    state.user = user;
    sessionStorage.setItem('dse.token', r.token);
    sessionStorage.setItem('dse.user', user);
    $('login-password').value = '';
    start();
  } catch (e) {
    $('login-error').textContent = e.message;
  }
}

function start() {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = state.user || '';
  state.ticks = 0;
  refresh(true);
  clearInterval(state.timer);
  state.timer = setInterval(() => refresh(false), REFRESH_MS);
}

// ---- the tree: datacenter > cluster > host > DPUs and VMs ----

function node(kind, name, label, kids) {
  const sel = state.selected && state.selected.kind === kind && state.selected.name === name;
  const a = el('a', {
    href: '#', class: 'tree-node' + (sel ? ' active' : ''), 'data-kind': kind, 'data-name': name,
    onclick: (e) => { e.preventDefault(); select(kind, name); },
  }, el('span', { class: 'kind', text: KIND[kind] }), label);
  return el('li', {}, a, kids.length ? el('ul', { class: 'list-unstyled ms-3' }, kids) : null);
}

async function loadTree() {
  const [dcs, clusters, hosts, dpus, vms] = await Promise.all(
    ['datacenters', 'clusters', 'hosts', 'dpus', 'vms'].map((k) => listAll(k)));
  state.inv = { dcs, clusters, hosts };
  const hostNode = (h) => node('host', h.name, h.name, [
    ...dpus.filter((d) => d.name.startsWith(h.name + '/'))
      .map((d) => node('dpu', d.name, d.name.slice(h.name.length + 1), [])),
    ...vms.filter((v) => v.spec.host === h.name).map((v) => node('vm', v.name, v.name, [])),
  ]);
  $('tree').replaceChildren(...dcs.map((dc) => node('datacenter', dc.name, dc.name,
    clusters.filter((c) => c.spec.datacenter === dc.name).map((c) => node('cluster', c.name, c.name,
      hosts.filter((h) => h.spec.cluster === c.name).map(hostNode))))));
}

function select(kind, name) {
  state.selected = { kind, name };
  state.gen++;
  for (const a of document.querySelectorAll('.tree-node')) {
    a.classList.toggle('active', a.dataset.kind === kind && a.dataset.name === name);
  }
  showTab('object');
}

// ---- the selected object ----

function specTable(spec) {
  return el('table', { class: 'table table-sm w-auto' }, el('tbody', {},
    Object.entries(spec || {}).map(([k, v]) =>
      el('tr', {}, el('th', { text: k }), el('td', { text: typeof v === 'object' ? JSON.stringify(v) : v })))));
}

function card(title, ...body) {
  return el('div', { class: 'card mb-3' }, el('div', { class: 'card-header', text: title }),
    el('div', { class: 'card-body' }, body));
}

async function renderOverview(pane) {
  const gen = state.gen;
  const hosts = (state.inv && state.inv.hosts) || [];
  const rows = await Promise.all(hosts.slice(0, 50).map(async (h) => {
    const st = await api('GET', `/hosts/${enc(h.name)}/status`).catch(() => null);
    return el('tr', {},
      el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); select('host', h.name); } }, h.name)),
      el('td', { text: h.spec.cluster }), el('td', { text: h.spec.address || '—' }),
      el('td', {}, st ? badge(st.reachable ? 'reachable' : 'unreachable') : '—'));
  }));
  if (gen !== state.gen) return;
  pane.replaceChildren(el('h1', { class: 'h4', text: 'Hosts' }),
    el('table', { class: 'table table-sm' },
      el('thead', {}, el('tr', {}, ['Host', 'Cluster', 'Address', 'Status'].map((t) => el('th', { text: t })))),
      el('tbody', {}, rows)),
    el('p', { class: 'text-muted', text: 'Select an object in the inventory.' }));
}

async function renderHost(name, pane) {
  const gen = state.gen;
  const [obj, st, m, al] = await Promise.all([
    api('GET', `/hosts/${enc(name)}`),
    api('GET', `/hosts/${enc(name)}/status`).catch((e) => ({ pending: e.message })),
    api('GET', `/hosts/${enc(name)}/metrics`).catch(() => ({ points: [] })),
    api('GET', `/alarms?host=${enc(name)}`).catch(() => ({ items: [] }))]);
  if (gen !== state.gen) return;
  const last = m.points[m.points.length - 1];
  const dpuRows = ((last && last.dpus) || []).map((d) => el('tr', {},
    el('td', {}, el('a', { href: '#', 'data-dpu': `${name}/${d.dpu}`,
      onclick: (e) => { e.preventDefault(); select('dpu', `${name}/${d.dpu}`); } }, d.dpu)),
    el('td', {}, badge(d.up ? 'up' : 'down')),
    el('td', { text: fmtPct(metric(d.sample, 'dse_dpu_cpu_usage_ratio')) }),
    el('td', { text: fmtPct(metric(d.sample, 'dse_dpu_memory_usage_ratio')) }),
    el('td', { text: fmtRate(metric(d.sample, 'dse_dpu_network_rx_bytes_per_second')) }),
    el('td', { text: fmtRate(metric(d.sample, 'dse_dpu_network_tx_bytes_per_second')) })));
  const reach = st.pending ? badge('not reached yet') : badge(st.reachable ? 'reachable' : 'unreachable');
  pane.replaceChildren(
    el('h1', { class: 'h4' }, `Host ${name} `, reach),
    el('div', { class: 'row' },
      el('div', { class: 'col-lg-6' },
        card('Configuration', specTable(obj.spec)),
        card('Desired state on the host',
          el('div', {}, 'Portgroups applied: ', el('span', { id: 'host-portgroups' },
            (st.portgroups || []).map((p) => el('span', { class: 'badge bg-primary me-1 pg', text: p })))),
          st.drift && !st.drift.length ? el('div', { class: 'text-muted small mt-2', text: 'No drift.' }) : null,
          (st.drift || []).length ? el('ul', { class: 'text-warning mt-2 mb-0' }, st.drift.map((d) => el('li', { text: d }))) : null,
          st.error ? el('div', { class: 'text-danger mt-2', text: st.error }) : null,
          st.pending ? el('div', { class: 'text-muted mt-2', text: st.pending }) : null)),
      el('div', { class: 'col-lg-6' },
        card('DPUs',
          dpuRows.length ? el('table', { class: 'table table-sm mb-0', id: 'host-dpus' },
            el('thead', {}, el('tr', {}, ['DPU', 'State', 'CPU', 'Memory', 'Rx', 'Tx'].map((t) => el('th', { text: t })))),
            el('tbody', {}, dpuRows)) : el('span', { class: 'text-muted', text: 'No figures collected yet.' }),
          el('div', { class: 'small text-muted mt-2', text: last ? `as of ${fmtTime(last.at_ms)}` : '' })),
        card('Active alarms', al.items.length ? alarmTable(al.items, false)
          : el('span', { class: 'text-muted', text: 'None.' })))));
}

// A chart of the DPU beside its host: datasets [{label, color, dash}].
function newChart(id, sets, fmt) {
  return new Chart($(id), {
    type: 'line',
    data: { datasets: sets.map((s) => ({
      label: s.label, data: [], borderColor: s.color, backgroundColor: s.color, borderWidth: 2,
      borderDash: s.dash ? [5, 4] : [], pointRadius: 0, pointStyle: 'line', tension: 0.2 })) },
    options: {
      animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', ticks: { maxTicksLimit: 6, maxRotation: 0,
          callback: (v) => fmtTime(v, state.step < 60000) } },
        y: { beginAtZero: true, ticks: { callback: (v) => fmt(v) } },
      },
      plugins: { legend: { labels: { usePointStyle: true, boxWidth: 24 } }, tooltip: { callbacks: {
        title: (items) => fmtTime(items[0].parsed.x),
        label: (it) => `${it.dataset.label}: ${fmt(it.parsed.y)}` } } },
    },
  });
}

function buildDpu(name, pane) {
  const [host, dpu] = name.split('/');
  for (const c of Object.values(state.charts)) c.destroy();
  const box = (id, title) => el('div', { class: 'col-xl-4 col-lg-6 mb-3' },
    el('div', { class: 'card' }, el('div', { class: 'card-header', text: title }),
      el('div', { class: 'card-body' }, el('div', { class: 'chart-box' }, el('canvas', { id })))));
  const win = (w, label) => el('button', {
    class: `btn btn-sm btn-outline-secondary${state.window === w ? ' active' : ''}`, 'data-window': w,
    onclick: (e) => {
      state.window = w;
      for (const b of e.target.parentNode.children) b.classList.toggle('active', b === e.target);
      updateDpu(name).catch(showError);
    } }, label);
  pane.replaceChildren(
    el('h1', { class: 'h4' }, `DPU ${dpu} `, el('small', { class: 'text-muted' }, 'on host ',
      el('a', { href: '#', onclick: (e) => { e.preventDefault(); select('host', host); } }, host))),
    el('div', { class: 'd-flex align-items-center mb-3' },
      el('div', { class: 'btn-group me-3' }, win('hour', 'Last hour, live'), win('day', 'Last day')),
      el('span', { class: 'small text-muted', id: 'dpu-status' })),
    el('div', { class: 'row' }, box('chart-cpu', 'CPU'), box('chart-mem', 'Memory'),
      box('chart-net', 'Network throughput')));
  const pair = [{ label: `DPU ${dpu}`, color: COLORS.dpu }, { label: `host ${host}`, color: COLORS.host, dash: true }];
  state.charts = {
    cpu: newChart('chart-cpu', pair, fmtPct),
    mem: newChart('chart-mem', pair, fmtPct),
    net: newChart('chart-net', [
      { label: 'DPU rx', color: COLORS.dpu }, { label: 'DPU tx', color: COLORS.dpu2 },
      { label: 'host rx', color: COLORS.host, dash: true }, { label: 'host tx', color: COLORS.host2, dash: true }],
    fmtRate),
  };
}

async function updateDpu(name) {
  const gen = state.gen;
  const [host, dpu] = name.split('/');
  const m = await api('GET', `/hosts/${enc(host)}/metrics${state.window === 'day' ? '?window=day' : ''}`)
    .catch(() => ({ points: [] }));
  if (gen !== state.gen) return;
  const series = (sample, metricName, scale = 1) => m.points
    .map((p) => ({ x: p.at_ms, y: metric(sample(p), metricName) }))
    .filter((pt) => pt.y !== null).map((pt) => ({ x: pt.x, y: pt.y * scale }));
  const d = (p) => ((p.dpus || []).find((x) => x.dpu === dpu) || {}).sample;
  const h = (p) => p.host;
  const sets = {
    cpu: [series(d, 'dse_dpu_cpu_usage_ratio'), series(h, 'dse_host_cpu_usage_ratio')],
    mem: [series(d, 'dse_dpu_memory_usage_ratio'), series(h, 'dse_host_memory_usage_ratio')],
    net: [series(d, 'dse_dpu_network_rx_bytes_per_second'), series(d, 'dse_dpu_network_tx_bytes_per_second'),
      series(h, 'dse_host_interface_rx_bytes_per_second'), series(h, 'dse_host_interface_tx_bytes_per_second')],
  };
  // Ticks on round times: at most five over the span shown.
  const span = m.points.length ? m.points[m.points.length - 1].at_ms - m.points[0].at_ms : 0;
  const step = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400].map((sec) => sec * 1000)
    .find((ms) => span / ms <= 5) || 14400000;
  state.step = step; // under a minute, ticks show seconds
  for (const [k, data] of Object.entries(sets)) {
    const c = state.charts[k];
    if (!c) return;
    data.forEach((pts, i) => { c.data.datasets[i].data = pts; });
    c.options.scales.x.ticks.stepSize = step;
    c.update('none');
  }
  const last = m.points[m.points.length - 1];
  const info = last && (last.dpus || []).find((x) => x.dpu === dpu);
  $('dpu-status').textContent = !last ? 'No figures collected yet.'
    : `${info && info.up ? 'up' : 'down'}; ${m.points.length} points, the last at ${fmtTime(last.at_ms)}`;
}

async function renderObject(fresh) {
  const pane = $('pane-object');
  const s = state.selected;
  if (!s) return renderOverview(pane);
  if (s.kind === 'host') return renderHost(s.name, pane);
  if (s.kind === 'dpu') {
    if (fresh || !$('chart-cpu')) buildDpu(s.name, pane);
    return updateDpu(s.name);
  }
  const path = { datacenter: 'datacenters', cluster: 'clusters', vm: 'vms' }[s.kind];
  const gen = state.gen;
  const obj = await api('GET', `/${path}/${enc(s.name)}`);
  if (gen !== state.gen) return;
  pane.replaceChildren(el('h1', { class: 'h4', text: `${KIND[s.kind]} ${s.name}` }), specTable(obj.spec),
    el('p', { class: 'small text-muted', text: `resource version ${obj.resource_version}` }));
}

// ---- alarms, events, tasks ----

function alarmTable(items, full) {
  return el('table', { class: 'table table-sm align-middle mb-0' }, el('tbody', {},
    items.map((a) => alarmRow(a, full))));
}

function alarmRow(a, full) {
  const key = `${a.host} ${a.id}`;
  const raised = a.state === 'red' || a.state === 'yellow';
  let act = '';
  if (a.acknowledged) act = el('span', { class: 'badge bg-secondary', text: 'acknowledged' });
  else if (state.acking.has(key)) act = el('button', { class: 'btn btn-sm btn-outline-primary', disabled: true }, 'Acknowledging…');
  else if (raised) act = el('button', { class: 'btn btn-sm btn-outline-primary ack', onclick: (e) => ack(a, e.target) }, 'Acknowledge');
  return el('tr', { class: 'alarm', 'data-host': a.host, 'data-id': a.id, 'data-acknowledged': a.acknowledged ? 'true' : 'false' },
    el('td', {}, badge(a.state)),
    full ? el('td', { text: a.host }) : null,
    full ? el('td', { text: a.dpu || '—' }) : null,
    el('td', {}, el('code', { text: a.id })),
    el('td', { text: a.message || '' }),
    full ? el('td', { text: fmtDate(a.since_ms) }) : null,
    el('td', { class: 'text-end' }, act));
}

async function ack(a, button) {
  const key = `${a.host} ${a.id}`;
  state.acking.add(key);
  button.disabled = true;
  button.textContent = 'Acknowledging…';
  showError(null);
  try {
    const r = await api('POST', `/alarms/${enc(a.host)}/${enc(a.id)}/ack`);
    const t = await watchTask(r.task);
    if (t.state !== 'success') throw new Error(`ack of ${a.id}: ${((t.results || {})[a.host] || {}).error || t.state}`);
  } catch (e) {
    showError(e);
  } finally {
    state.acking.delete(key);
    refresh(false);
  }
}

async function loadAlarms() {
  const r = await api('GET', `/alarms${$('alarms-all').checked ? '?state=all' : ''}`);
  $('alarms').tBodies[0].replaceChildren(...r.items.map((a) => alarmRow(a, true)));
}

async function countAlarms() {
  const r = await api('GET', '/alarms');
  const n = r.items.filter((a) => (a.state === 'red' || a.state === 'yellow') && !a.acknowledged).length;
  $('alarm-count').textContent = n;
  $('alarm-count').hidden = n === 0;
}

async function loadEvents() {
  const since = Number($('events-since').value);
  const q = [`limit=200`];
  if ($('events-object').value) q.push('object=' + enc($('events-object').value));
  if ($('events-type').value) q.push('type=' + enc($('events-type').value));
  if (since) q.push('since=' + (Date.now() - since));
  const r = await api('GET', `/events?${q.join('&')}`);
  $('events').tBodies[0].replaceChildren(...r.items.reverse().map((e) => el('tr', {},
    el('td', { text: fmtDate(e.time_ms) }), el('td', { text: e.host }), el('td', { text: e.object }),
    el('td', {}, el('code', { text: e.type })), el('td', { text: e.message || '' }))));
}

function progressBar(t) {
  const cls = { success: 'bg-success', error: 'bg-danger', running: 'progress-bar-striped progress-bar-animated' }[t.state] || 'bg-secondary';
  const bar = el('div', { class: `progress-bar ${cls}`, role: 'progressbar', 'aria-valuenow': t.progress,
    'aria-valuemin': 0, 'aria-valuemax': 100 }, `${t.progress}%`);
  bar.style.width = `${Math.max(t.progress, 8)}%`; // CSSOM: allowed by the page's CSP
  return el('div', { class: 'progress', 'data-task': t.id, 'data-state': t.state }, bar);
}

function taskResult(t) {
  const failed = Object.entries(t.results || {}).filter(([, r]) => !r.ok);
  if (t.state !== 'error') return t.state;
  return failed.map(([h, r]) => `${h}: ${r.error || 'failed'}`).join('; ') || 'error';
}

async function loadTasks() {
  const items = (await listAll('tasks')).slice(-50).reverse();
  $('tasks').tBodies[0].replaceChildren(...items.map((t) => el('tr', {},
    el('td', {}, el('code', { text: t.id.replace(/^0+/, '') })), el('td', { text: t.kind }),
    el('td', { text: t.object }), el('td', { text: t.started_by }), el('td', { text: fmtDate(t.created_ms) }),
    el('td', {}, progressBar(t)), el('td', { class: 'small', text: taskResult(t) }))));
}

// ---- switches and portgroups ----

async function loadNetwork() {
  const [sws, pgs] = await Promise.all([listAll('switches'), listAll('portgroups')]);
  const del = (path, name) => el('button', { class: 'btn btn-sm btn-link text-danger p-0', 'data-delete': name,
    onclick: () => confirm(`Delete ${name}?`) &&
      change(`Deleting ${name}`, 'DELETE', `/${path}/${name.split('/').map(enc).join('/')}`) }, 'Delete');
  $('switches').tBodies[0].replaceChildren(...sws.map((s) => el('tr', { 'data-switch': s.name },
    el('td', { text: s.name }), el('td', { text: s.spec.datacenter }), el('td', { text: s.spec.mtu || 1500 }),
    el('td', { class: 'text-end' }, del('switches', s.name)))));
  $('portgroups').tBodies[0].replaceChildren(...pgs.map((p) => el('tr', { 'data-portgroup': p.name },
    el('td', { text: p.name }), el('td', { text: p.spec.vlan }), el('td', { text: p.spec.mtu || 1500 }),
    el('td', { class: 'text-end' }, del('portgroups', p.name)))));
  const fill = (sel, names) => {
    if ([...sel.options].map((o) => o.value).join() === names.join()) return;
    const keep = sel.value;
    sel.replaceChildren(...names.map((n) => el('option', { value: n, text: n })));
    if (names.includes(keep)) sel.value = keep;
  };
  fill($('pg-switch'), sws.map((s) => s.name));
  fill($('switch-dc'), ((state.inv && state.inv.dcs) || []).map((d) => d.name));
}

// A change of the inventory, its task followed to the end under the forms.
async function change(what, method, path, body) {
  const out = $('network-task');
  showError(null);
  try {
    const r = await api(method, path, body);
    out.replaceChildren(`${what}: pushing to the hosts…`);
    await loadNetwork();
    if (r.task) {
      const t = await watchTask(r.task, (t) => out.replaceChildren(`${what}: `, progressBar(t)));
      out.replaceChildren(`${what}: ${t.state === 'success' ? 'applied on every host' : taskResult(t)} (task ${t.id.replace(/^0+/, '')})`);
    }
    state.ticks = 0; // the tree again
    await refresh(false);
  } catch (e) {
    out.replaceChildren();
    showError(e);
  }
}

function createSwitch(ev) {
  ev.preventDefault();
  const name = $('switch-name').value;
  change(`Switch ${name}`, 'POST', '/switches', { name, spec: { datacenter: $('switch-dc').value } })
    .then(() => { $('switch-name').value = ''; });
}

function createPortgroup(ev) {
  ev.preventDefault();
  const name = `${$('pg-switch').value}/${$('pg-name').value}`;
  change(`Portgroup ${name}`, 'POST', '/portgroups', { name, spec: { vlan: Number($('pg-vlan').value) } })
    .then(() => { $('pg-name').value = ''; $('pg-vlan').value = ''; });
}

// ---- the firewall (docs/dfw.md) ----

const ACTION_CLASS = { allow: 'bg-success', drop: 'bg-danger', reject: 'bg-warning text-dark' };

// The rules in the order the DPUs meet them: sections by order then name,
// each section's rules by order then name (manager/dfw.h).
function dfwOrder(rules, sections) {
  const order = Object.fromEntries(sections.map((s) => [s.name, s.spec.order || 0]));
  const key = (r) => {
    const slash = r.name.indexOf('/');
    const sec = r.name.slice(0, slash);
    return [order[sec] || 0, sec, r.spec.order || 0, r.name.slice(slash + 1)];
  };
  return rules.slice().sort((a, b) => {
    const x = key(a), y = key(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
  });
}

function dfwRow(i, name, spec, c) {
  const any = (l, none = 'any') => (l && l.length ? l.join(', ') : none);
  const n = (v) => (v == null ? '—' : v.toLocaleString());
  return el('tr', { 'data-rule': name }, el('td', { text: i }), el('td', {}, el('code', { text: name })),
    el('td', {}, el('span', { class: `badge ${ACTION_CLASS[spec.action] || 'bg-secondary'}`, text: spec.action || 'default' })),
    el('td', { text: spec.action ? spec.direction || 'inout' : '' }), el('td', { text: spec.action ? any(spec.src) : '' }),
    el('td', { text: spec.action ? any(spec.dst) : '' }), el('td', { text: spec.action ? any(spec.services) : '' }),
    el('td', { text: spec.action ? any(spec.applied_to, 'every endpoint') : '' }),
    el('td', { class: 'text-end', text: n(c.packets) }), el('td', { class: 'text-end', text: n(c.bytes) }),
    el('td', { class: 'text-end', text: n(c.sessions) }));
}

async function loadFirewall() {
  const [sections, rules, stats] = await Promise.all([listAll('dfwsections'), listAll('dfwrules'),
    api('GET', '/dfw/stats').catch(() => null)]); // the fleet's counters: read on the root
  const counts = Object.fromEntries(((stats && stats.rules) || []).map((r) => [r.name, r]));
  const rows = dfwOrder(rules, sections).map((r, i) => dfwRow(i + 1, r.name, r.spec, counts[r.name] || {}));
  if (counts.default) rows.push(dfwRow('', 'default', {}, counts.default)); // no rule matched
  if (!rows.length) {
    rows.push(el('tr', {}, el('td', { colspan: 11, class: 'text-muted',
      text: 'No rule: each portgroup passes what its switch\'s default passes.' })));
  }
  $('dfw-rules').tBodies[0].replaceChildren(...rows);
  const drops = stats ? Object.entries(stats.drops).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  $('dfw-summary').textContent = stats
    ? `Counters of ${stats.hosts} hosts and ${stats.dpus} DPUs: ${stats.conns} connections of ${stats.conn_max}; drops: ${drops || 'none'}.`
    : 'No counters: they need read rights on the whole inventory.';
}

// ---- tabs and the refresh ----

const LOADERS = { object: renderObject, alarms: loadAlarms, events: loadEvents, tasks: loadTasks, network: loadNetwork,
  firewall: loadFirewall };

function showTab(tab) {
  state.tab = tab;
  state.gen++;
  for (const a of document.querySelectorAll('#tabs .nav-link')) a.classList.toggle('active', a.dataset.tab === tab);
  for (const p of document.querySelectorAll('.pane')) p.hidden = p.id !== `pane-${tab}`;
  showError(null);
  LOADERS[tab](true).catch(showError);
}

async function refresh(fresh) {
  if (state.busy || !state.token) return;
  state.busy = true;
  try {
    if (state.ticks++ % TREE_EVERY === 0) await loadTree();
    await Promise.all([LOADERS[state.tab](fresh), countAlarms()]);
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', () => showLogin(''));
  for (const a of document.querySelectorAll('#tabs .nav-link')) {
    a.addEventListener('click', (e) => { e.preventDefault(); showTab(a.dataset.tab); });
  }
  $('alarms-all').addEventListener('change', () => loadAlarms().catch(showError));
  $('events-form').addEventListener('submit', (e) => { e.preventDefault(); loadEvents().catch(showError); });
  $('switch-form').addEventListener('submit', createSwitch);
  $('pg-form').addEventListener('submit', createPortgroup);
  if (state.token) start();
  else showLogin('');
});
