// 重大项目: the five rates of a period (GET /api/projects/rates), the pipeline funnel, rates per
// department or park, the project list, and a form to register or update a project (its place picked
// on a small map of the district). Import and export go through /api/projects/import|export.*.
// Every formula: docs/projects.md.
import { addStrings, api, districtMap, el, homeFor, requireSignIn, serverNow, showError, t, toast, topBar, translatePage, uiConfig } from '/ui/common.js';

addStrings({
  zh: {
    'pj.title': '重大项目', 'pj.from': '起', 'pj.to': '止（不含）', 'pj.apply': '统计',
    'pj.export_xlsx': '导出 Excel', 'pj.export_csv': '导出 CSV', 'pj.import': '导入 Excel', 'pj.skip_bad': '跳过错误行',
    'pj.tiles': '五率', 'pj.funnel': '项目推进（期末累计）', 'pj.groups': '分组五率', 'pj.by': '分组',
    'pj.by.department': '按责任单位', 'pj.by.park': '按园区',
    'pj.rates_note': '“应/已”：应达到该阶段的项目数 / 期内实际达到的数；“—”表示分母为 0。',
    'pj.list': '项目', 'pj.new': '登记项目', 'pj.form.new': '登记项目', 'pj.form.edit': '更新项目 #{id}',
    'pj.f.name': '项目名称', 'pj.f.investment': '总投资（亿元）', 'pj.f.department': '责任单位', 'pj.f.park': '所在园区',
    'pj.f.place': '位置（点击地图选取）', 'pj.f.planned_contribution': '计划年贡献（亿元）', 'pj.f.actual_contribution': '实际年贡献（亿元）',
    'pj.planned': '计划', 'pj.actual': '实际', 'pj.save': '保存', 'pj.cancel': '取消',
    'pj.period': '统计期 {from} 至 {to}（不含）· 只统计您有权查看的项目',
    'pj.rate.signing': '签约率', 'pj.rate.landing': '落地率', 'pj.rate.start': '开工率', 'pj.rate.production': '投达产率', 'pj.rate.contribution': '综合贡献率',
    'pj.sub.stage': '已 {reached} / 应 {due}', 'pj.sub.ahead': '，提前 {ahead}', 'pj.sub.contribution': '实际 {actual} / 计划 {planned} 亿元',
    'pj.stage.signing': '签约', 'pj.stage.landing': '落地', 'pj.stage.start': '开工', 'pj.stage.production': '投产', 'pj.stage.none': '未签约',
    'pj.registered': '登记',
    'pj.col.group': '分组', 'pj.col.projects': '项目数', 'pj.col.investment': '总投资（亿元）',
    'pj.col.name': '项目名称', 'pj.col.department': '责任单位', 'pj.col.park': '园区', 'pj.col.stage': '阶段', 'pj.col.cell': '网格',
    'pj.no_park': '园区外', 'pj.empty': '还没有项目：登记一个，或导入 Excel。',
    'pj.point': '经度 {lon}，纬度 {lat}', 'pj.no_point': '尚未选取位置',
    'pj.need_point': '请在地图上点击项目所在位置', 'pj.saved': '已保存项目 #{id}',
    'pj.imported': '已导入 {n} 个项目', 'pj.imported_skipped': '已导入 {n} 个项目，跳过 {bad} 行',
    'pj.exported': '已导出 {name}', 'pj.events': '变更记录', 'pj.chain_ok': '记录链校验通过', 'pj.chain_bad': '记录链校验失败：{problem}',
    'pj.kind.created': '登记', 'pj.kind.imported': '导入', 'pj.kind.updated': '更新',
  },
  en: {
    'pj.title': 'Major projects', 'pj.from': 'From', 'pj.to': 'To (exclusive)', 'pj.apply': 'Show',
    'pj.export_xlsx': 'Export Excel', 'pj.export_csv': 'Export CSV', 'pj.import': 'Import Excel', 'pj.skip_bad': 'Skip bad rows',
    'pj.tiles': 'Five rates', 'pj.funnel': 'Pipeline (by the end of the period)', 'pj.groups': 'Rates by group', 'pj.by': 'Group by',
    'pj.by.department': 'By department', 'pj.by.park': 'By park',
    'pj.rates_note': '"due/reached": projects due to reach the stage / those that reached it in the period; "—" means a zero denominator.',
    'pj.list': 'Projects', 'pj.new': 'Register a project', 'pj.form.new': 'Register a project', 'pj.form.edit': 'Update project #{id}',
    'pj.f.name': 'Name', 'pj.f.investment': 'Investment (100M yuan)', 'pj.f.department': 'Lead department', 'pj.f.park': 'Park',
    'pj.f.place': 'Place (click the map)', 'pj.f.planned_contribution': 'Planned annual contribution (100M yuan)', 'pj.f.actual_contribution': 'Actual annual contribution (100M yuan)',
    'pj.planned': 'Planned', 'pj.actual': 'Actual', 'pj.save': 'Save', 'pj.cancel': 'Cancel',
    'pj.period': 'Period {from} to {to} (exclusive) · only the projects you may see',
    'pj.rate.signing': 'Signing rate', 'pj.rate.landing': 'Landing rate', 'pj.rate.start': 'Start rate', 'pj.rate.production': 'Production rate', 'pj.rate.contribution': 'Contribution rate',
    'pj.sub.stage': '{reached} of {due} due', 'pj.sub.ahead': ', {ahead} ahead', 'pj.sub.contribution': 'actual {actual} / planned {planned}',
    'pj.stage.signing': 'Signed', 'pj.stage.landing': 'Landed', 'pj.stage.start': 'Started', 'pj.stage.production': 'Producing', 'pj.stage.none': 'Not signed',
    'pj.registered': 'Registered',
    'pj.col.group': 'Group', 'pj.col.projects': 'Projects', 'pj.col.investment': 'Investment',
    'pj.col.name': 'Name', 'pj.col.department': 'Department', 'pj.col.park': 'Park', 'pj.col.stage': 'Stage', 'pj.col.cell': 'Cell',
    'pj.no_park': 'Outside parks', 'pj.empty': 'No projects yet: register one, or import Excel.',
    'pj.point': 'lon {lon}, lat {lat}', 'pj.no_point': 'No place picked yet',
    'pj.need_point': 'Click the map where the project is', 'pj.saved': 'Project #{id} saved',
    'pj.imported': '{n} projects imported', 'pj.imported_skipped': '{n} projects imported, {bad} rows skipped',
    'pj.exported': 'Exported {name}', 'pj.events': 'Change record', 'pj.chain_ok': 'Record chain verifies', 'pj.chain_bad': 'Record chain broken: {problem}',
    'pj.kind.created': 'Registered', 'pj.kind.imported': 'Imported', 'pj.kind.updated': 'Updated',
  },
});

const ROLES = ['commander', 'supervisor', 'department_handler'];
const STAGES = ['signing', 'landing', 'start', 'production'];
const $ = (selector) => document.querySelector(selector);

const state = { from: '', to: '', by: 'department', editing: null, point: null, departments: [], projects: [] };

const pct = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`);
const money = (n) => (n === null || n === undefined ? '' : Number(n).toLocaleString(undefined, { maximumFractionDigits: 2 }));

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

// ---------------------------------------------------------------- rates

async function loadRates() {
  const view = await api('/api/projects/rates', { query: { from: state.from, to: state.to, by: state.by } });
  $('#period-text').textContent = t('pj.period', { from: view.from, to: view.to });
  renderTiles(view.total.figures);
  renderFunnel(view.total.figures.pipeline);
  renderTable(view);
}

function renderTiles(f) {
  const tiles = $('#tiles');
  tiles.replaceChildren(
    ...STAGES.map((stage) => {
      const s = f[stage];
      const sub = t('pj.sub.stage', s) + (s.ahead ? t('pj.sub.ahead', s) : '');
      return el('div', { class: 'pj-tile', 'data-rate': stage },
        el('div', { class: 'pj-tile-label' }, t(`pj.rate.${stage}`)),
        el('div', { class: 'pj-tile-value' }, pct(s.rate)),
        el('div', { class: 'pj-tile-sub' }, sub));
    }),
    el('div', { class: 'pj-tile', 'data-rate': 'contribution' },
      el('div', { class: 'pj-tile-label' }, t('pj.rate.contribution')),
      el('div', { class: 'pj-tile-value' }, pct(f.contribution_rate)),
      el('div', { class: 'pj-tile-sub' }, t('pj.sub.contribution', { actual: money(f.actual_contribution), planned: money(f.planned_contribution) }))),
  );
}

let funnel;
function renderFunnel(p) {
  funnel ??= echarts.init($('#funnel'));
  const labels = [t('pj.registered'), ...STAGES.map((s) => t(`pj.stage.${s}`))];
  const values = [p.registered, p.signed, p.landed, p.started, p.producing];
  funnel.setOption({
    grid: { left: 70, right: 40, top: 10, bottom: 24 },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: labels, inverse: true },
    series: [{
      type: 'bar', data: values, barMaxWidth: 28,
      itemStyle: { color: (params) => ['#94a3b8', '#0b6bcb', '#0891b2', '#d97706', '#16a34a'][params.dataIndex] },
      label: { show: true, position: 'right' },
    }],
  }, true);
}

function renderTable(view) {
  const table = $('#rates-table');
  const head = [t('pj.col.group'), t('pj.col.projects'), t('pj.col.investment'),
    ...STAGES.map((s) => t(`pj.rate.${s}`)), t('pj.rate.contribution')];
  table.tHead.replaceChildren(el('tr', {}, ...head.map((h, i) => el('th', { class: i ? 'num' : '' }, h))));
  const row = (r, total) => {
    const f = r.figures;
    const name = r.key === 'none' ? t('pj.no_park') : r.key === 'total' ? (r.name) : r.name;
    return el('tr', { class: total ? 'pj-total' : '' },
      el('td', {}, name),
      el('td', { class: 'num' }, String(f.projects)),
      el('td', { class: 'num' }, money(f.investment)),
      ...STAGES.map((s) => el('td', { class: 'num', title: t('pj.sub.stage', f[s]) },
        pct(f[s].rate), el('span', { class: 'muted small' }, ` ${f[s].reached}/${f[s].due}`))),
      el('td', { class: 'num' }, pct(f.contribution_rate)));
  };
  table.tBodies[0].replaceChildren(...view.rows.map((r) => row(r, false)), row(view.total, true));
}

// ---------------------------------------------------------------- list

async function loadProjects() {
  state.projects = await api('/api/projects');
  const table = $('#project-table');
  const head = [t('pj.col.name'), t('pj.col.investment'), t('pj.col.department'), t('pj.col.park'), t('pj.col.stage')];
  table.tHead.replaceChildren(el('tr', {}, ...head.map((h, i) => el('th', { class: i === 1 ? 'num' : '' }, h))));
  if (!state.projects.length) {
    table.tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted' }, t('pj.empty'))));
    return;
  }
  table.tBodies[0].replaceChildren(...state.projects.map((p) => el('tr', {
    class: state.editing?.id === p.id ? 'selected' : '', tabindex: '0', 'data-id': String(p.id),
    onclick: () => edit(p.id), onkeydown: (e) => { if (e.key === 'Enter') edit(p.id); },
  },
  el('td', {}, p.name),
  el('td', { class: 'num' }, money(p.investment)),
  el('td', {}, p.department_name || p.department),
  el('td', {}, p.park_name || '—'),
  el('td', {}, stageBadges(p)))));
}

function stageBadges(p) {
  const reached = p.stage ? STAGES.indexOf(p.stage) : -1;
  return el('span', { class: 'pj-stages-badges' }, ...STAGES.map((s, i) => el('span', {
    class: `badge ${i <= reached ? 'pj-done' : 'none'}`,
    title: `${t(`pj.stage.${s}`)} ${p[s].actual || ''}`.trim(),
  }, t(`pj.stage.${s}`))));
}

// ---------------------------------------------------------------- form

let pickMap;
let pickMarker;
async function setupMap() {
  const config = await uiConfig();
  pickMap = districtMap('pick-map', config, { scrollWheelZoom: false });
  const streets = await api('/api/grid/street');
  const layer = L.geoJSON(streets, { interactive: false, style: { color: '#0b4f8a', weight: 1, fillColor: '#e3eefa', fillOpacity: 0.6 } }).addTo(pickMap);
  pickMap.fitBounds(layer.getBounds());
  pickMap.on('click', (e) => setPoint({ lon: e.latlng.lng, lat: e.latlng.lat }));
}

function setPoint(point) {
  state.point = point;
  if (!point) {
    pickMarker?.remove();
    pickMarker = null;
    $('#f-point').textContent = t('pj.no_point');
    return;
  }
  const latlng = [point.lat, point.lon];
  if (pickMarker) pickMarker.setLatLng(latlng);
  else pickMarker = L.circleMarker(latlng, { radius: 7, color: '#b42318', weight: 2, fillColor: '#f04438', fillOpacity: 0.9 }).addTo(pickMap);
  $('#f-point').textContent = t('pj.point', { lon: point.lon.toFixed(5), lat: point.lat.toFixed(5) });
}

function stageRows() {
  $('#stage-rows').replaceChildren(...STAGES.map((s) => el('tr', {},
    el('th', { scope: 'row' }, t(`pj.stage.${s}`)),
    el('td', {}, el('input', { type: 'date', id: `f-${s}-planned`, 'aria-label': `${t(`pj.stage.${s}`)} ${t('pj.planned')}` })),
    el('td', {}, el('input', { type: 'date', id: `f-${s}-actual`, 'aria-label': `${t(`pj.stage.${s}`)} ${t('pj.actual')}` })))));
}

function fillForm(p) {
  state.editing = p;
  $('#form-title').textContent = p ? t('pj.form.edit', { id: p.id }) : t('pj.form.new');
  $('#f-name').value = p?.name ?? '';
  $('#f-investment').value = p?.investment ?? '';
  $('#f-department').value = p?.department ?? state.departments[0]?.code ?? '';
  $('#f-park').value = p?.park_name ?? '';
  $('#f-planned-contribution').value = p?.planned_contribution ?? '';
  $('#f-actual-contribution').value = p?.actual_contribution ?? '';
  for (const s of STAGES) {
    $(`#f-${s}-planned`).value = p?.[s].planned ?? '';
    $(`#f-${s}-actual`).value = p?.[s].actual ?? '';
  }
  setPoint(p ? { lon: p.lon, lat: p.lat } : null);
  if (p && pickMap) pickMap.panTo([p.lat, p.lon]);
  $('#events').replaceChildren();
}

async function edit(id) {
  try {
    const detail = await api(`/api/projects/${id}`);
    fillForm(detail.project);
    renderEvents(detail);
    for (const row of document.querySelectorAll('#project-table tbody tr')) row.classList.toggle('selected', row.dataset.id === String(id));
  } catch (error) {
    showError(error);
  }
}

function renderEvents(detail) {
  $('#events').replaceChildren(
    el('h3', {}, t('pj.events')),
    el('p', { class: `small ${detail.chain_ok ? 'muted' : 'error-text'}` },
      detail.chain_ok ? t('pj.chain_ok') : t('pj.chain_bad', { problem: detail.chain_problem })),
    el('ol', { class: 'pj-event-list' }, ...detail.events.map((e) => el('li', {},
      el('strong', {}, t(`pj.kind.${e.kind}`)), ` ${new Date(e.at).toLocaleString()} · ${e.actor_name || e.actor}`,
      e.body.changes ? el('div', { class: 'muted small' }, e.body.changes.map((c) => `${c.field}: ${c.before ?? '—'} → ${c.after ?? '—'}`).join('；')) : '',
    ))),
  );
}

const numberOrNull = (id) => ($(id).value === '' ? null : Number($(id).value));
const dateOrNull = (id) => $(id).value || null;

async function save(event) {
  event.preventDefault();
  if (!state.point) {
    toast(t('pj.need_point'), 'error');
    return;
  }
  const body = {
    name: $('#f-name').value.trim(),
    investment: numberOrNull('#f-investment') ?? 0,
    department: $('#f-department').value,
    park: $('#f-park').value.trim() || null,
    lon: state.point.lon,
    lat: state.point.lat,
    planned_contribution: numberOrNull('#f-planned-contribution'),
    actual_contribution: numberOrNull('#f-actual-contribution'),
  };
  for (const s of STAGES) body[s] = { planned: dateOrNull(`#f-${s}-planned`), actual: dateOrNull(`#f-${s}-actual`) };
  const button = $('#save');
  button.disabled = true;
  try {
    let saved;
    if (state.editing) {
      saved = await api(`/api/projects/${state.editing.id}`, { method: 'PUT', body: { ...body, version: state.editing.version } });
    } else {
      saved = await api('/api/projects', { method: 'POST', body });
    }
    toast(t('pj.saved', { id: saved.id }), 'ok');
    await Promise.all([loadProjects(), loadRates()]);
    await edit(saved.id);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- import / export

function filenameOf(response) {
  const match = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') || '');
  return match ? match[1] : null;
}

async function download(path, fallback, query) {
  try {
    const response = await api(path, { query, raw: true });
    const blob = await response.blob();
    const name = filenameOf(response) || fallback;
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: name, class: 'hidden' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    toast(t('pj.exported', { name }), 'ok');
  } catch (error) {
    showError(error);
  }
}

async function importFile() {
  const input = $('#import-file');
  const file = input.files?.[0];
  if (!file) return;
  const form = new FormData();
  form.append('file', file);
  try {
    const report = await api('/api/projects/import', { method: 'POST', form, query: { skip_bad: $('#skip-bad').checked ? 'true' : '' } });
    toast(report.bad.length ? t('pj.imported_skipped', { n: report.stored.length, bad: report.bad.length }) : t('pj.imported', { n: report.stored.length }), 'ok');
    await Promise.all([loadProjects(), loadRates()]);
  } catch (error) {
    showError(error);
  } finally {
    input.value = '';
  }
}

// ---------------------------------------------------------------- start

const answer = await requireSignIn();
const me = answer?.person ?? answer;
if (!ROLES.includes(me?.role)) {
  location.href = homeFor(me?.role);
  await new Promise(() => {});
}
topBar(me, 'projects');
translatePage();

const today = new Date(serverNow());
state.from = `${today.getFullYear()}-01-01`;
state.to = isoDay(new Date(today.getTime() + 86400000));
$('#from').value = state.from;
$('#to').value = state.to;

try {
  const [departments, areas] = await Promise.all([api('/api/departments'), api('/api/areas')]);
  const own = me.role === 'department_handler' ? me.scope?.department : null;
  state.departments = departments.filter((d) => !own || d.code === own);
  $('#f-department').replaceChildren(...state.departments.map((d) => el('option', { value: d.code }, d.name)));
  // Parks: the district's zones (areas at the street level that are not 街道).
  $('#parks').replaceChildren(...areas.filter((a) => a.code.length === 9 && !a.name.endsWith('街道')).map((a) => el('option', { value: a.name })));
  stageRows();
  fillForm(null);
  await Promise.all([setupMap(), loadRates(), loadProjects()]);
} catch (error) {
  showError(error);
}

$('#period').addEventListener('submit', (e) => {
  e.preventDefault();
  state.from = $('#from').value;
  state.to = $('#to').value;
  loadRates().catch(showError);
});
$('#by').addEventListener('change', () => { state.by = $('#by').value; loadRates().catch(showError); });
$('#project-form').addEventListener('submit', save);
$('#new-project').addEventListener('click', () => { fillForm(null); loadProjects().catch(showError); $('#f-name').focus(); });
$('#cancel').addEventListener('click', () => fillForm(null));
$('#export-xlsx').addEventListener('click', () => download('/api/projects/export.xlsx', 'onegrid-projects.xlsx', { from: state.from, to: state.to }));
$('#export-csv').addEventListener('click', () => download('/api/projects/export.csv', 'onegrid-projects.csv'));
$('#import-file').addEventListener('change', importFile);
window.addEventListener('resize', () => funnel?.resize());
