// Command center (指挥中心): the district's whole grid as the map, every case in the filters as a
// marker coloured by its deadline, district-tier events (大事全网联动) pinned in the side panel, the
// KPIs of the window, a heat layer by cell, and live updates from the SSE feed.
import {
  addStrings,
  api,
  caseColour,
  COLOURS,
  el,
  escapeHtml,
  fmtDeadline,
  serverNow,
  syncClock,
  fmtTime,
  homeFor,
  lang,
  reference,
  requireSignIn,
  showError,
  stateName,
  t,
  toast,
  token,
  topBar,
  translatePage,
  uiConfig,
} from '/ui/common.js';

addStrings({
  zh: {
    'command.title': '一张网格 · 指挥中心',
    'command.panel': '指挥面板',
    'command.major.title': '大事全网联动',
    'command.major.none': '目前没有正在办理的区级联动事件。',
    'command.major.lead': '牵头',
    'command.major.co': '协办',
    'command.major.undispatched': '尚未派遣部门',
    'command.major.new': '新的区级联动事件：{title}',
    'command.major.show': '在地图上查看案件 {id}',
    'command.filters.title': '筛选',
    'command.filters.reset': '清除筛选',
    'command.filters.street': '街道',
    'command.filters.category': '类别',
    'command.filters.state': '状态',
    'command.filters.tier': '级别',
    'command.filters.channel': '来源渠道',
    'command.filters.window': '上报时间',
    'command.filters.district': '全区',
    'command.filters.all': '全部',
    'command.window.1': '近 24 小时',
    'command.window.7': '近 7 天',
    'command.window.30': '近 30 天',
    'command.window.90': '近 90 天',
    'command.window.all': '全部时间',
    'command.summary': '图上 {shown} 件案件',
    'command.summary.unplaced': '，{n} 件没有位置',
    'command.summary.loading': '正在加载案件…（已读 {n} 件）',
    'command.summary.admin': '管理员账号不查看案件，这里只显示网格。',
    'command.activity.title': '实时动态',
    'command.activity.empty': '新的上报和办理动态会实时出现在这里。',
    'command.kpi.title': '全区考核',
    'command.kpi.window': '· {window}',
    'command.kpi.reported': '上报',
    'command.kpi.closure_rate': '结案率',
    'command.kpi.on_time': '按期处置率',
    'command.kpi.satisfaction': '满意率',
    'command.kpi.overdue': '超期',
    'command.kpi.unit': '件',
    'command.kpi.none': '这段时间没有数据',
    'command.counts.title': '图上案件',
    'command.counts.none': '无时限',
    'command.live.connecting': '正在连接实时数据',
    'command.live.on': '实时连接中',
    'command.live.off': '实时数据已断开，正在重连',
    'command.live.last': '实时连接中 · 最近动态 {time}',
    'command.map.label': '全区网格地图',
    'command.map.loading': '正在绘制全区网格…',
    'command.map.heat': '热力图',
    'command.map.heat_title': '按网格显示案件数量（当前筛选）',
    'command.map.fit': '全区',
    'command.map.markers': '案件点位',
    'command.map.markers_title': '显示或隐藏案件点位',
    'command.map.fit_title': '回到全区视图',
    'command.map.legend': '图例',
    'command.legend.deadline': '办理时限',
    'command.legend.state': '案件状态',
    'command.legend.reported': '待受理',
    'command.legend.working': '办理中',
    'command.legend.checking': '待核查 / 已核查',
    'command.legend.long_term': '长期跟踪',
    'command.legend.done': '已结案 / 不予受理 / 已合并',
    'command.legend.major': '区级联动',
    'command.legend.heat': '每个网格的案件数',
    'command.legend.heat_empty': '当前筛选下没有案件。',
    'command.legend.cluster': '聚合圈：数字为案件数，颜色为其中最紧急的时限',
    'command.cell.cases': '{n} 件案件（当前筛选）',
    'command.pop.case': '案件 {id}',
    'command.pop.category': '类别',
    'command.pop.state': '状态',
    'command.pop.deadline': '时限',
    'command.pop.no_deadline': '没有在办时限',
    'command.pop.due': '{stage}阶段 · {left}（{due} 到期）',
    'command.pop.department': '部门',
    'command.pop.co': '协办：{names}',
    'command.pop.place': '网格',
    'command.pop.reported': '上报',
    'command.pop.open': '打开案件',
    'command.pop.outside': '这件案件不在当前筛选范围内。',
    'command.pop.no_place': '案件 {id} 没有位置，无法在地图上显示。',
    'command.cluster.label': '{n} 件案件，其中超期 {red} 件、临期 {yellow} 件',
    'stage.accept': '受理',
    'stage.dispatch': '派遣',
    'stage.handle': '处置',
    'stage.verify': '核查',
    'stage.close': '结案',
    'event.reported': '上报',
    'event.accepted': '立案',
    'event.rejected': '不予受理',
    'event.dispatched': '派遣',
    'event.self_settled': '自处置',
    'event.returned': '退回',
    'event.feedback_given': '处置反馈',
    'event.verified': '核查通过',
    'event.verification_failed': '核查不通过',
    'event.closed': '结案',
    'event.rated': '评价',
    'event.extension_requested': '延期申请',
    'event.extension_approved': '延期批准',
    'event.extension_denied': '延期驳回',
    'event.long_term_set': '转长期跟踪',
    'event.long_term_resumed': '恢复办理',
    'event.supervision_issued': '督办',
    'event.escalated': '升级',
    'event.merged_into': '合并',
    'event.duplicate_absorbed': '合并重复件',
  },
  en: {
    'command.title': 'onegrid · Command center',
    'command.panel': 'Command panel',
    'command.major.title': 'District joint action',
    'command.major.none': 'No district-tier event is open.',
    'command.major.lead': 'Lead',
    'command.major.co': 'With',
    'command.major.undispatched': 'No department yet',
    'command.major.new': 'New district-tier event: {title}',
    'command.major.show': 'Show case {id} on the map',
    'command.filters.title': 'Filters',
    'command.filters.reset': 'Clear filters',
    'command.filters.street': 'Street',
    'command.filters.category': 'Category',
    'command.filters.state': 'State',
    'command.filters.tier': 'Tier',
    'command.filters.channel': 'Channel',
    'command.filters.window': 'Reported',
    'command.filters.district': 'Whole district',
    'command.filters.all': 'All',
    'command.window.1': 'Last 24 hours',
    'command.window.7': 'Last 7 days',
    'command.window.30': 'Last 30 days',
    'command.window.90': 'Last 90 days',
    'command.window.all': 'Any time',
    'command.summary': '{shown} cases on the map',
    'command.summary.unplaced': '; {n} without a location',
    'command.summary.loading': 'Loading cases… ({n} so far)',
    'command.summary.admin': 'Administrator accounts do not read cases: only the grid is shown.',
    'command.activity.title': 'Live activity',
    'command.activity.empty': 'New reports and handling steps appear here as they happen.',
    'command.kpi.title': 'District KPIs',
    'command.kpi.window': '· {window}',
    'command.kpi.reported': 'Reported',
    'command.kpi.closure_rate': 'Closure rate',
    'command.kpi.on_time': 'Handled on time',
    'command.kpi.satisfaction': 'Satisfaction',
    'command.kpi.overdue': 'Overdue',
    'command.kpi.unit': '',
    'command.kpi.none': 'No data for this period',
    'command.counts.title': 'Cases on the map',
    'command.counts.none': 'No deadline',
    'command.live.connecting': 'Connecting to live updates',
    'command.live.on': 'Live',
    'command.live.off': 'Live updates lost, reconnecting',
    'command.live.last': 'Live · last update {time}',
    'command.map.label': 'Map of the district grid',
    'command.map.loading': 'Drawing the district grid…',
    'command.map.heat': 'Heat map',
    'command.map.heat_title': 'Number of cases per grid cell (current filters)',
    'command.map.fit': 'District',
    'command.map.markers': 'Cases',
    'command.map.markers_title': 'Show or hide the case markers',
    'command.map.fit_title': 'Back to the whole district',
    'command.map.legend': 'Legend',
    'command.legend.deadline': 'Deadline',
    'command.legend.state': 'Case state',
    'command.legend.reported': 'Reported',
    'command.legend.working': 'Being handled',
    'command.legend.checking': 'Awaiting verification / verified',
    'command.legend.long_term': 'Long-term',
    'command.legend.done': 'Closed / rejected / merged',
    'command.legend.major': 'District tier',
    'command.legend.heat': 'Cases per grid cell',
    'command.legend.heat_empty': 'No cases in the current filters.',
    'command.legend.cluster': 'Groups: the number of cases, coloured by the most urgent deadline inside',
    'command.cell.cases': '{n} cases (current filters)',
    'command.pop.case': 'Case {id}',
    'command.pop.category': 'Category',
    'command.pop.state': 'State',
    'command.pop.deadline': 'Deadline',
    'command.pop.no_deadline': 'No deadline running',
    'command.pop.due': '{stage} stage · {left} (due {due})',
    'command.pop.department': 'Department',
    'command.pop.co': 'with {names}',
    'command.pop.place': 'Grid cell',
    'command.pop.reported': 'Reported',
    'command.pop.open': 'Open the case',
    'command.pop.outside': 'This case is outside the current filters.',
    'command.pop.no_place': 'Case {id} has no location, so it cannot be shown on the map.',
    'command.cluster.label': '{n} cases, {red} overdue and {yellow} due soon',
    'stage.accept': 'Accept',
    'stage.dispatch': 'Dispatch',
    'stage.handle': 'Handling',
    'stage.verify': 'Verification',
    'stage.close': 'Closing',
    'event.reported': 'Reported',
    'event.accepted': 'Accepted',
    'event.rejected': 'Rejected',
    'event.dispatched': 'Dispatched',
    'event.self_settled': 'Settled in the cell',
    'event.returned': 'Returned',
    'event.feedback_given': 'Handling reported',
    'event.verified': 'Verified',
    'event.verification_failed': 'Verification failed',
    'event.closed': 'Closed',
    'event.rated': 'Rated',
    'event.extension_requested': 'Extension requested',
    'event.extension_approved': 'Extension approved',
    'event.extension_denied': 'Extension denied',
    'event.long_term_set': 'Made long-term',
    'event.long_term_resumed': 'Resumed',
    'event.supervision_issued': 'Supervised',
    'event.escalated': 'Escalated',
    'event.merged_into': 'Merged',
    'event.duplicate_absorbed': 'Duplicate absorbed',
  },
});

// ---------------------------------------------------------------- constants

const ROLES = ['commander', 'supervisor', 'dispatcher', 'admin'];
const STATES = ['reported', 'accepted', 'handling', 'awaiting_verification', 'verified', 'long_term', 'closed', 'rejected', 'merged'];
const FINAL = new Set(['closed', 'rejected', 'merged']);
const TIERS = ['grid', 'street', 'district'];
const CHANNELS = ['citizen', 'grid_worker', 'hotline_12345', 'police_110', 'public_opinion', 'sensor', 'open311', 'desk'];
const WINDOWS = ['1', '7', '30', '90', 'all'];
const EVENT_KINDS = [
  'reported', 'accepted', 'rejected', 'dispatched', 'self_settled', 'returned', 'feedback_given', 'verified',
  'verification_failed', 'closed', 'rated', 'extension_requested', 'extension_approved', 'extension_denied',
  'long_term_set', 'long_term_resumed', 'supervision_issued', 'escalated', 'merged_into', 'duplicate_absorbed',
];
/** Worst first. */
const COLOUR_ORDER = ['red', 'yellow', 'green', 'none'];
/** Cell outlines appear from this zoom on (the district fits at about 11–12). */
const CELL_ZOOM = 13.5;
/** Street names below this zoom, community names from it. */
const LABEL_ZOOM = 13.5;
/** The heat classes, light to dark (ColorBrewer Purples: apart from the deadline colours). */
const HEAT = ['#cbc9e2', '#a8a4d0', '#8c85c0', '#6a51a3', '#4a1486'];
const REFRESH_MS = 5 * 60 * 1000;
const ACTIVITY_MAX = 30;

const view = {
  me: null,
  ref: null,
  map: null,
  filters: {},
  fromIso: null,
  cases: new Map(), // id → case in the filters (what the map shows)
  markers: new Map(), // id → marker
  majors: new Map(), // id → open district-tier case (whatever the filters)
  unplaced: 0,
  cluster: null,
  pinned: null, // district-tier markers, never clustered
  cells: null,
  cellFeatures: new Map(), // code → {layer, centre, props}
  streets: null,
  streetLabels: null,
  communityLabels: null,
  tiles: false,
  heat: false,
  showMarkers: true,
  heatCounts: new Map(),
  heatClasses: [],
  loadSeq: 0,
  feed: null,
  feedRetry: null,
  lastPosition: null,
  pending: new Map(),
  pendingTimer: null,
  activity: [],
  openCase: null,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- start

main().catch(showError);

async function main() {
  // /api/me answers {person, expires_at}; requireSignIn hands that on as it is, so the role check
  // is made here (it works as well once requireSignIn unwraps the person itself).
  const answer = await requireSignIn();
  view.me = answer?.person ?? answer;
  if (!ROLES.includes(view.me?.role)) {
    location.href = homeFor(view.me?.role);
    return;
  }
  topBar(view.me, 'command');
  document.title = t('command.title');
  translatePage();
  const [ref, config] = await Promise.all([reference(), uiConfig()]);
  view.ref = ref;
  buildFilters();
  readHash();
  renderKpis(null);
  renderCounts();
  createMap(config);
  const gridReady = loadGrid().catch((error) => {
    $('map-loading').classList.add('hidden');
    showError(error);
  });
  if (view.me.role === 'admin') {
    // Administrators read no cases (the API answers 403): the grid alone, and say so.
    $('summary').textContent = t('command.summary.admin');
    $('major-list').replaceChildren(el('p', { class: 'muted small' }, t('command.summary.admin')));
    $('live').classList.add('hidden');
    document.querySelector('.kpis').classList.add('hidden');
    document.querySelector('.activity').classList.add('hidden');
    renderCounts();
    return;
  }
  await gridReady;
  await Promise.all([loadCases(), loadMajors(), loadKpis()]);
  startFeed();
  // Deadline colours move with the clock alone (no event says so): re-read now and then.
  setInterval(() => {
    if (!document.hidden) rereadClockBound();
  }, REFRESH_MS);
}

// ---------------------------------------------------------------- filters

function option(value, text, selected = false) {
  return el('option', { value, selected }, text);
}

function buildFilters() {
  const { ref, me } = view;
  const scope = me.scope?.areas || [];
  const streets = ref.areas
    .filter((a) => a.level === 'street')
    .filter((a) => !scope.length || scope.some((s) => a.code.startsWith(s) || s.startsWith(a.code)));
  $('f-area').replaceChildren(option('', t('command.filters.district')), ...streets.map((s) => option(s.code, s.name)));

  const groups = new Map();
  for (const c of ref.categories) {
    if (!groups.has(c.major_name)) groups.set(c.major_name, []);
    groups.get(c.major_name).push(c);
  }
  $('f-category').replaceChildren(
    option('', t('command.filters.all')),
    ...[...groups].map(([major, items]) => el('optgroup', { label: major }, items.map((c) => option(c.code, c.name)))),
  );
  $('f-state').replaceChildren(option('', t('command.filters.all')), ...STATES.map((s) => option(s, stateName(s))));
  $('f-tier').replaceChildren(option('', t('command.filters.all')), ...TIERS.map((s) => option(s, t(`tier.${s}`))));
  $('f-channel').replaceChildren(option('', t('command.filters.all')), ...CHANNELS.map((s) => option(s, t(`channel.${s}`))));
  $('f-window').replaceChildren(...WINDOWS.map((w) => option(w, t(`command.window.${w}`), w === 'all')));

  const form = $('filters');
  form.addEventListener('change', () => applyFilters());
  form.addEventListener('submit', (event) => event.preventDefault());
  form.addEventListener('reset', () => {
    // The form is reset after this event: read it afterwards.
    setTimeout(() => {
      $('f-window').value = 'all';
      applyFilters();
    });
  });
}

function readFilters() {
  const data = new FormData($('filters'));
  const filters = {};
  for (const key of ['area', 'category', 'state', 'tier', 'channel', 'window']) filters[key] = data.get(key) || '';
  if (!WINDOWS.includes(filters.window)) filters.window = 'all';
  return filters;
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const key of ['area', 'category', 'state', 'tier', 'channel', 'window']) {
    const value = params.get(key);
    const select = $(`f-${key}`);
    if (value && [...select.options].some((o) => o.value === value)) select.value = value;
  }
  view.heat = params.get('heat') === '1';
  view.showMarkers = params.get('markers') !== '0';
  view.filters = readFilters();
}

function writeHash() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(view.filters)) {
    if (value && !(key === 'window' && value === 'all')) params.set(key, value);
  }
  if (view.heat) params.set('heat', '1');
  if (!view.showMarkers) params.set('markers', '0');
  const text = params.toString();
  history.replaceState(null, '', text ? `#${text}` : location.pathname + location.search);
}

function applyFilters() {
  const before = view.filters;
  view.filters = readFilters();
  writeHash();
  highlightStreet();
  if (before.area !== view.filters.area) fitArea(view.filters.area, false);
  loadCases();
  if (before.window !== view.filters.window) loadKpis();
}

function windowFrom(windowKey) {
  if (windowKey === 'all') return null;
  return new Date(serverNow() - Number(windowKey) * 86400000).toISOString();
}

/** Whether a case (say, one just changed on the feed) belongs in the current filters. */
function inFilters(c) {
  const f = view.filters;
  if (f.area && !c.cell.startsWith(f.area)) return false;
  if (f.category && c.category !== f.category) return false;
  if (f.state && c.state !== f.state) return false;
  if (f.tier && c.tier !== f.tier) return false;
  if (f.channel && c.channel !== f.channel) return false;
  if (view.fromIso && new Date(c.reported_at) < new Date(view.fromIso)) return false;
  return true;
}

// ---------------------------------------------------------------- map and grid

function createMap(config) {
  const map = L.map('map', {
    zoomControl: true,
    attributionControl: Boolean(config.tile_url),
    minZoom: 9,
    maxZoom: 19,
    zoomSnap: 0.25,
    zoomDelta: 0.5,
    wheelPxPerZoomLevel: 90,
    preferCanvas: false,
  });
  view.map = map;
  map.setView([39.12, 117.39], 11);
  if (config.tile_url) {
    map.attributionControl.setPrefix(false);
    L.tileLayer(config.tile_url, { attribution: config.tile_attribution || '', maxZoom: 19 }).addTo(map);
    map.getContainer().classList.add('with-tiles');
    view.tiles = true;
  }
  // Panes, bottom to top: district land, communities, cells (heat), streets, district outline, labels.
  const panes = [['gridLand', 380], ['gridCommunities', 390], ['gridCells', 395], ['gridStreets', 405], ['gridDistrict', 410], ['gridLabels', 450]];
  for (const [name, z] of panes) {
    const pane = map.createPane(name);
    pane.style.zIndex = z;
  }
  map.getPane('gridLabels').style.pointerEvents = 'none';

  view.cluster = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    spiderfyOnMaxZoom: true,
    disableClusteringAtZoom: 17,
    maxClusterRadius: (zoom) => (zoom <= 12 ? 80 : zoom <= 14 ? 60 : 40),
    iconCreateFunction: clusterIcon,
  }).addTo(map);
  view.pinned = L.layerGroup().addTo(map);

  mapControls();
  if (!view.showMarkers) setMarkers(false);
  map.getContainer().classList.toggle('heat-on', view.heat);
  map.on('zoomend', onZoom);
  // The KPI strip and the window can change the map's size: Leaflet must be told.
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(map.getContainer());
}

function mapControls() {
  const { map } = view;
  const Tools = L.Control.extend({
    options: { position: 'topright' },
    onAdd() {
      const box = el('div', { class: 'map-tools leaflet-bar' });
      const heat = el('button', {
        type: 'button', id: 'heat-toggle', class: 'map-tool', 'aria-pressed': String(view.heat), title: t('command.map.heat_title'),
        onclick: () => setHeat(!view.heat),
      }, el('span', { class: 'tool-swatch', 'aria-hidden': 'true' }), t('command.map.heat'));
      const markers = el('button', {
        type: 'button', id: 'markers-toggle', class: 'map-tool', 'aria-pressed': String(view.showMarkers), title: t('command.map.markers_title'),
        onclick: () => setMarkers(!view.showMarkers),
      }, t('command.map.markers'));
      const fit = el('button', {
        type: 'button', id: 'fit-district', class: 'map-tool', title: t('command.map.fit_title'),
        onclick: () => fitArea(view.filters.area),
      }, t('command.map.fit'));
      box.append(heat, markers, fit);
      L.DomEvent.disableClickPropagation(box);
      return box;
    },
  });
  new Tools().addTo(map);

  const Legend = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd() {
      const box = el('details', { class: 'map-legend', id: 'legend', open: window.innerWidth > 700 });
      box.append(el('summary', {}, t('command.map.legend')), el('div', { id: 'heat-legend', class: 'heat-legend hidden' }), legendBody());
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    },
  });
  new Legend().addTo(map);
}

function legendBody() {
  const colourRow = (colour, text) => el('li', {}, el('span', { class: 'case-dot legend-dot', 'data-colour': colour, 'data-state': 'handling' }), text);
  const stateRow = (state, text, extra = {}) =>
    el('li', {}, el('span', { class: 'legend-icon' }, el('span', { class: 'case-dot legend-dot', 'data-colour': 'green', 'data-state': state, ...extra })), text);
  return el(
    'div',
    { class: 'legend-body' },
    el('h3', {}, t('command.legend.deadline')),
    el('ul', { class: 'cols-2' }, colourRow('green', t('colour.green')), colourRow('yellow', t('colour.yellow')), colourRow('red', t('colour.red')), colourRow('none', t('command.counts.none'))),
    el('h3', {}, t('command.legend.state')),
    el(
      'ul',
      {},
      stateRow('reported', t('command.legend.reported')),
      stateRow('handling', t('command.legend.working')),
      stateRow('verified', t('command.legend.checking')),
      stateRow('long_term', t('command.legend.long_term')),
      el('li', {}, el('span', { class: 'legend-icon' }, el('span', { class: 'case-dot legend-dot small', 'data-colour': 'none', 'data-state': 'closed' })), t('command.legend.done')),
      el('li', {}, el('span', { class: 'legend-icon' }, el('span', { class: 'case-dot legend-dot', 'data-colour': 'red', 'data-state': 'handling', 'data-tier': 'district' })), t('command.legend.major')),
    ),
    el('p', { class: 'legend-note' }, t('command.legend.cluster')),
  );
}

async function loadGrid() {
  const { map } = view;
  const [district, streets, communities] = await Promise.all([
    api('/api/grid/district').catch(() => null), // the outline is a nicety: the streets tile it anyway
    api('/api/grid/street'),
    api('/api/grid/community'),
  ]);
  // Without tiles the district is white land on a grey ground; with tiles, the tiles show through.
  const land = { stroke: false, fillColor: '#ffffff', fillOpacity: view.tiles ? 0 : 1 };
  L.geoJSON(district || streets, { pane: 'gridLand', interactive: false, style: land }).addTo(map);
  if (district) L.geoJSON(district, { pane: 'gridDistrict', interactive: false, style: { color: '#0b3a66', weight: 3.5, fill: false } }).addTo(map);
  L.geoJSON(communities, {
    pane: 'gridCommunities',
    style: { color: '#8fa3b8', weight: 1, opacity: 0.9, fill: true, fillOpacity: 0 },
    onEachFeature: (feature, layer) => {
      layer.bindTooltip(() => areaTip(feature.properties), { sticky: true, className: 'grid-tip', direction: 'top' });
    },
  }).addTo(map);
  view.streets = L.geoJSON(streets, {
    pane: 'gridStreets',
    interactive: false,
    style: streetStyle,
  }).addTo(map);
  view.streetBounds = new Map();
  view.streets.eachLayer((layer) => view.streetBounds.set(layer.feature.properties.code, layer.getBounds()));
  view.districtBounds = view.streets.getBounds();

  view.streetLabels = labelLayer(streets, 'street-label');
  view.communityLabels = labelLayer(communities, 'community-label');
  map.setMaxBounds(view.districtBounds.pad(0.6));
  fitArea(view.filters.area, false);
  highlightStreet();
  onZoom();
  $('map-loading').classList.add('hidden');

  // The cells are the big layer (thousands of outlines): drawn after the rest is on screen.
  const cells = await api('/api/grid/cell');
  view.cells = L.geoJSON(cells, {
    pane: 'gridCells',
    style: cellStyle,
    onEachFeature: (feature, layer) => {
      const props = feature.properties;
      view.cellFeatures.set(props.code, { layer, props, centre: labelPoint(feature.geometry) });
      layer.bindTooltip(() => areaTip(props, view.heat ? view.heatCounts.get(props.code) || 0 : null), {
        sticky: true,
        className: 'grid-tip',
        direction: 'top',
      });
      layer.on('click', (event) => layer.openTooltip(event.latlng));
    },
  });
  onZoom();
}

function streetStyle(feature) {
  const selected = view.filters.area && feature.properties.code === view.filters.area;
  return selected
    ? { color: '#0b4f8a', weight: 4, opacity: 1, fill: false }
    : { color: '#3e5c7a', weight: 2.2, opacity: 0.95, fill: false };
}

function cellStyle(feature) {
  const zoomed = view.map.getZoom() >= CELL_ZOOM;
  if (!view.heat) return { color: '#b4c2d0', weight: 0.6, opacity: 0.9, fill: true, fillOpacity: 0 };
  const n = view.heatCounts.get(feature.properties.code) || 0;
  return {
    stroke: zoomed,
    color: '#a9b7c6',
    weight: 0.6,
    opacity: 0.9,
    fill: true,
    fillColor: heatColour(n),
    fillOpacity: n ? 0.78 : 0,
  };
}

function areaTip(props, count = null) {
  const box = el('div', {}, el('strong', {}, props.name), el('div', { class: 'mono small' }, props.code));
  if (count !== null) box.append(el('div', { class: 'small' }, t('command.cell.cases', { n: count })));
  return box;
}

function labelLayer(collection, className) {
  const group = L.layerGroup();
  for (const feature of collection.features) {
    const at = labelPoint(feature.geometry);
    if (!at) continue;
    const name = feature.properties.name.replace(/（生成）$/, '');
    L.marker(at, {
      pane: 'gridLabels',
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: `area-label ${className}`, html: `<span>${escapeHtml(name)}</span>`, iconSize: null }),
    }).addTo(group);
  }
  return group;
}

function onZoom() {
  const { map } = view;
  if (!map) return;
  const zoom = map.getZoom();
  const showCells = view.cells && (view.heat || zoom >= CELL_ZOOM);
  if (view.cells) {
    if (showCells && !map.hasLayer(view.cells)) view.cells.addTo(map);
    if (!showCells && map.hasLayer(view.cells)) map.removeLayer(view.cells);
    if (view.heat && showCells) view.cells.setStyle(cellStyle);
  }
  toggleLayer(view.streetLabels, zoom < LABEL_ZOOM && zoom >= 11.25);
  toggleLayer(view.communityLabels, zoom >= LABEL_ZOOM);
  map.getContainer().dataset.zoom = String(Math.round(zoom));
}

function toggleLayer(layer, show) {
  if (!layer) return;
  if (show && !view.map.hasLayer(layer)) layer.addTo(view.map);
  if (!show && view.map.hasLayer(layer)) view.map.removeLayer(layer);
}

function fitArea(code, animate = true) {
  const { map } = view;
  const bounds = (code && view.streetBounds?.get(code)) || view.districtBounds;
  if (!bounds) return;
  // Keep the district clear of the legend on wide maps.
  const legend = document.getElementById('legend');
  const size = map.getSize();
  const right = legend?.open && size.x > 900 ? legend.offsetWidth + 24 : 16;
  // On narrow maps the tools sit above the district: leave them room.
  const top = size.x < 700 ? 52 : 16;
  const fit = () => map.fitBounds(bounds, { paddingTopLeft: [16, top], paddingBottomRight: [right, 16], animate });
  // A fit asked for while a zoom is still animating would be dropped: do it once that one ends.
  if (map._animatingZoom) map.once('zoomend', fit);
  else fit();
}

function highlightStreet() {
  view.streets?.setStyle(streetStyle);
}

/** A point inside-ish the largest polygon of a geometry (its outer ring's centroid), as [lat, lon]. */
function labelPoint(geometry) {
  const polygons = geometry?.type === 'Polygon' ? [geometry.coordinates] : geometry?.type === 'MultiPolygon' ? geometry.coordinates : [];
  let best = null;
  let bestArea = 0;
  for (const polygon of polygons) {
    const ring = polygon[0];
    if (!ring || ring.length < 3) continue;
    const [x0, y0] = ring[0];
    let area = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0; i < ring.length - 1; i++) {
      const ax = ring[i][0] - x0;
      const ay = ring[i][1] - y0;
      const bx = ring[i + 1][0] - x0;
      const by = ring[i + 1][1] - y0;
      const cross = ax * by - bx * ay;
      area += cross;
      cx += (ax + bx) * cross;
      cy += (ay + by) * cross;
    }
    if (Math.abs(area) > bestArea) {
      bestArea = Math.abs(area);
      best = [y0 + cy / (3 * area), x0 + cx / (3 * area)];
    }
  }
  return best;
}

// ---------------------------------------------------------------- cases

async function loadCases({ quiet = false } = {}) {
  const seq = ++view.loadSeq;
  const filters = view.filters;
  const fromIso = windowFrom(filters.window);
  const query = { limit: 500, area: filters.area, category: filters.category, state: filters.state, tier: filters.tier, channel: filters.channel, from: fromIso };
  const items = [];
  if (!quiet) $('summary').textContent = t('command.summary.loading', { n: 0 });
  try {
    let after;
    do {
      const page = await api('/api/cases', { query: { ...query, after } });
      if (seq !== view.loadSeq) return; // newer filters took over
      items.push(...page.items);
      after = page.next_after ?? undefined;
      if (!quiet) $('summary').textContent = t('command.summary.loading', { n: items.length });
    } while (after !== undefined);
  } catch (error) {
    if (seq === view.loadSeq) {
      renderCounts();
      showError(error);
    }
    return;
  }
  view.fromIso = fromIso;
  drawCases(items);
}

function drawCases(items) {
  const popupOpen = view.openCase;
  view.cluster.clearLayers();
  view.pinned.clearLayers();
  view.cases.clear();
  view.markers.clear();
  view.unplaced = 0;
  const clustered = [];
  for (const c of items) {
    view.cases.set(c.id, c);
    const marker = markerFor(c);
    if (!marker) {
      view.unplaced += 1;
      continue;
    }
    view.markers.set(c.id, marker);
    if (marker.options.pinned) marker.addTo(view.pinned);
    else clustered.push(marker);
  }
  view.cluster.addLayers(clustered);
  renderCounts();
  refreshHeat();
  if (popupOpen && view.markers.get(popupOpen)?._icon) view.markers.get(popupOpen).openPopup();
}

function isMajor(c) {
  return c.tier === 'district' && !FINAL.has(c.state);
}

function positionOf(c) {
  if (c.point) return [c.point.lat, c.point.lon];
  return view.cellFeatures.get(c.cell)?.centre || null;
}

function iconFor(c) {
  const colour = caseColour(c);
  const pinned = isMajor(c);
  const quiet = FINAL.has(c.state);
  const size = pinned ? 22 : quiet ? 10 : 16;
  const safe = (text) => String(text).replace(/[^a-z0-9_]/gi, '');
  return L.divIcon({
    className: 'case-icon',
    iconSize: [size, size],
    html: `<span class="case-dot" data-case="${safe(c.id)}" data-colour="${safe(colour)}" data-state="${safe(c.state)}" data-tier="${safe(c.tier)}"></span>`,
  });
}

function markerFor(c) {
  const at = positionOf(c);
  if (!at) return null;
  const pinned = isMajor(c);
  const colour = caseColour(c);
  const marker = L.marker(at, {
    icon: iconFor(c),
    title: `${t('command.pop.case', { id: c.id })} · ${c.title} · ${stateName(c.state)}`,
    alt: c.title,
    riseOnHover: true,
    zIndexOffset: pinned ? 1000 : FINAL.has(c.state) ? -500 : COLOUR_ORDER.indexOf(colour) === 0 ? 300 : 0,
    pinned,
    colour,
  });
  marker.caseView = c;
  marker.bindPopup(() => popupFor(marker.caseView), popupOptions());
  marker.on('popupopen', () => (view.openCase = c.id));
  marker.on('popupclose', () => {
    if (view.openCase === c.id) view.openCase = null;
  });
  return marker;
}

function clusterIcon(cluster) {
  const counts = { red: 0, yellow: 0, green: 0, none: 0 };
  for (const marker of cluster.getAllChildMarkers()) counts[marker.options.colour] = (counts[marker.options.colour] || 0) + 1;
  const n = cluster.getChildCount();
  const worst = COLOUR_ORDER.find((k) => counts[k]) || 'none';
  const size = n < 10 ? 30 : n < 50 ? 36 : n < 200 ? 42 : 48;
  let start = 0;
  const stops = [];
  for (const colour of COLOUR_ORDER) {
    if (!counts[colour]) continue;
    const end = start + (counts[colour] / n) * 360;
    stops.push(`${COLOURS[colour]} ${start.toFixed(1)}deg ${end.toFixed(1)}deg`);
    start = end;
  }
  const label = t('command.cluster.label', { n, red: counts.red, yellow: counts.yellow });
  return L.divIcon({
    className: 'case-cluster',
    iconSize: [size, size],
    html: `<span class="cluster-ring" role="img" aria-label="${escapeHtml(label)}" title="${escapeHtml(label)}" data-colour="${worst}" data-count="${n}" style="background: conic-gradient(${stops.join(', ')})"><span class="cluster-core">${n}</span></span>`,
  });
}

/** Adds, moves, recolours or removes one case after a change on the feed. */
function upsert(c, { flash = false } = {}) {
  if (isMajor(c)) {
    const isNew = !view.majors.has(c.id);
    view.majors.set(c.id, c);
    if (isNew && flash) toast(t('command.major.new', { title: `#${c.id} ${c.title}` }), 'info');
  } else {
    view.majors.delete(c.id);
  }
  renderMajors();

  const old = view.markers.get(c.id);
  const wasOpen = old?.isPopupOpen?.();
  if (old) removeMarker(old);
  view.markers.delete(c.id);
  const known = view.cases.has(c.id);
  view.cases.delete(c.id);
  if (known && !old) view.unplaced = Math.max(0, view.unplaced - 1);

  if (inFilters(c)) {
    view.cases.set(c.id, c);
    const marker = markerFor(c);
    if (marker) {
      view.markers.set(c.id, marker);
      if (marker.options.pinned) marker.addTo(view.pinned);
      else view.cluster.addLayer(marker);
      if (wasOpen && marker._icon) marker.openPopup();
      if (flash) flashMarker(marker);
    } else {
      view.unplaced += 1;
    }
  }
  renderCounts();
  refreshHeat();
}

function removeCase(id) {
  const old = view.markers.get(id);
  if (old) removeMarker(old);
  else if (view.cases.has(id)) view.unplaced = Math.max(0, view.unplaced - 1);
  view.markers.delete(id);
  view.cases.delete(id);
  if (view.majors.delete(id)) renderMajors();
  renderCounts();
  refreshHeat();
}

function removeMarker(marker) {
  if (marker.options.pinned) view.pinned.removeLayer(marker);
  else view.cluster.removeLayer(marker);
}

function flashMarker(marker) {
  const shown = marker.options.pinned ? marker : view.cluster.getVisibleParent(marker);
  const node = shown?.getElement?.();
  if (!node) return;
  node.classList.remove('flash');
  void node.offsetWidth; // restart the animation
  node.classList.add('flash');
  setTimeout(() => node.classList.remove('flash'), 4200);
}

/** Flies to a case and opens its popup (a case outside the filters gets a popup of its own). */
/** Shows case `id` on the map with its popup; from the keyboard, focus moves into the popup so that
 *  「打开案件」 is one Tab away rather than behind every marker. */
async function focusCase(id, { keyboard = false } = {}) {
  const intoPopup = () => {
    if (keyboard) requestAnimationFrame(() => document.querySelector('.leaflet-popup .pop-open')?.focus());
  };
  const marker = view.markers.get(id);
  if (marker) {
    if (marker.options.pinned) {
      flyThen(marker.getLatLng(), () => {
        marker.openPopup();
        intoPopup();
      });
    } else {
      view.cluster.zoomToShowLayer(marker, () => {
        marker.openPopup();
        flashMarker(marker);
        intoPopup();
      });
    }
    return;
  }
  let c = view.majors.get(id) || view.cases.get(id);
  try {
    if (!c) c = (await api(`/api/cases/${id}`)).case;
  } catch (error) {
    showError(error);
    return;
  }
  const at = positionOf(c);
  if (!at) {
    toast(t('command.pop.no_place', { id }), 'info');
    return;
  }
  flyThen(L.latLng(at), () => {
    L.popup(popupOptions()).setLatLng(at).setContent(popupFor(c, { outside: !inFilters(c) })).openOn(view.map);
    intoPopup();
  });
}

function flyThen(latlng, then) {
  const { map } = view;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    then();
  };
  const zoom = Math.max(map.getZoom(), 16);
  if (map.getCenter().distanceTo(latlng) < 5 && Math.abs(map.getZoom() - zoom) < 0.01) {
    finish();
    return;
  }
  map.once('moveend', finish);
  map.flyTo(latlng, zoom, { duration: 0.9 });
  setTimeout(finish, 1800);
}

/** Popups pan clear of the map's controls (the tools at the top, the legend at the bottom right). */
function popupOptions() {
  const wide = view.map.getSize().x > 900;
  return {
    maxWidth: 340,
    minWidth: 260,
    className: 'case-popup',
    autoPanPaddingTopLeft: [60, 60],
    autoPanPaddingBottomRight: [wide ? 280 : 20, 20],
  };
}

function popupFor(c, { outside = false } = {}) {
  const colour = caseColour(c);
  const desk = `/ui/desk.html#case=${encodeURIComponent(c.id)}`;
  const names = c.co_departments.map((code) => view.ref.departmentByCode.get(code)?.name || code);
  const deadline = c.deadline
    ? t('command.pop.due', { stage: t(`stage.${c.deadline.stage}`), left: fmtDeadline(c.deadline), due: fmtTime(c.deadline.due_at) })
    : t('command.pop.no_deadline');
  const row = (label, ...value) => [el('dt', {}, label), el('dd', {}, ...value)];
  return el(
    'div',
    { class: 'case-pop', 'data-case': c.id },
    el(
      'div',
      { class: 'pop-head' },
      el('a', { class: 'pop-no', href: desk }, t('command.pop.case', { id: c.id })),
      el('span', { class: `badge ${colour}` }, colour === 'none' ? stateName(c.state) : t(`colour.${colour}`)),
      el('span', { class: `badge tier-${c.tier}` }, t(`tier.${c.tier}`)),
    ),
    el('h3', { class: 'pop-title' }, c.title),
    outside ? el('p', { class: 'pop-outside small' }, t('command.pop.outside')) : null,
    el(
      'dl',
      { class: 'pop-facts' },
      row(t('command.pop.category'), c.category_name || c.category),
      row(t('command.pop.state'), el('span', { class: 'badge state' }, stateName(c.state))),
      row(t('command.pop.deadline'), el('span', { class: colour === 'red' ? 'overdue' : '' }, deadline)),
      row(
        t('command.pop.department'),
        c.department_name || (c.handler === 'grid' ? t('tier.grid') : t('command.major.undispatched')),
        names.length ? el('div', { class: 'small muted' }, t('command.pop.co', { names: names.join('、') })) : null,
      ),
      row(t('command.pop.place'), c.cell_name || c.cell),
      row(t('command.pop.reported'), `${fmtTime(c.reported_at)} · ${t(`channel.${c.channel}`)}`),
    ),
    el('a', { class: 'button primary pop-open', href: desk }, t('command.pop.open'), ' →'),
  );
}

// ---------------------------------------------------------------- counts, heat

function renderCounts() {
  const counts = { red: 0, yellow: 0, green: 0, none: 0 };
  for (const [id] of view.markers) counts[caseColour(view.cases.get(id))] += 1;
  const shown = view.markers.size;
  const tile = (colour, label) =>
    el('div', { class: `count-tile c-${colour}`, 'data-tile': colour }, el('dt', {}, el('span', { class: 'swatch', 'aria-hidden': 'true' }), label), el('dd', { 'data-count': counts[colour] }, counts[colour]));
  $('colour-tiles').replaceChildren(
    tile('red', t('colour.red')),
    tile('yellow', t('colour.yellow')),
    tile('green', t('colour.green')),
    tile('none', t('command.counts.none')),
  );
  if (view.me.role === 'admin') return;
  $('summary').textContent = t('command.summary', { shown }) + (view.unplaced ? t('command.summary.unplaced', { n: view.unplaced }) : '');
  $('summary').dataset.shown = String(shown);
}

function setHeat(on) {
  view.heat = on;
  $('heat-toggle')?.setAttribute('aria-pressed', String(on));
  view.map.getContainer().classList.toggle('heat-on', on);
  writeHash();
  refreshHeat();
  onZoom();
  if (!on) view.cells?.setStyle(cellStyle);
}

function setMarkers(on) {
  view.showMarkers = on;
  $('markers-toggle')?.setAttribute('aria-pressed', String(on));
  toggleLayer(view.cluster, on);
  toggleLayer(view.pinned, on);
  writeHash();
}

function refreshHeat() {
  const legend = $('heat-legend');
  if (!view.heat) {
    legend?.classList.add('hidden');
    return;
  }
  const counts = new Map();
  for (const c of view.cases.values()) counts.set(c.cell, (counts.get(c.cell) || 0) + 1);
  view.heatCounts = counts;
  const max = Math.max(0, ...counts.values());
  view.heatClasses = heatClasses(max);
  view.cells?.setStyle(cellStyle);
  if (!legend) return;
  legend.classList.remove('hidden');
  legend.replaceChildren(
    el('h3', {}, t('command.legend.heat')),
    max
      ? el(
          'ul',
          { class: 'heat-scale' },
          view.heatClasses.map(({ low, high, colour }) =>
            el('li', {}, el('span', { class: 'heat-swatch', style: { background: colour } }), low === high ? String(low) : `${low}–${high}`),
          ),
        )
      : el('p', { class: 'legend-note' }, t('command.legend.heat_empty')),
  );
}

/** Up to five classes from 1 to `max`, on a roughly logarithmic scale (most cells hold few cases). */
function heatClasses(max) {
  if (max <= 0) return [];
  const lows = [];
  if (max <= HEAT.length) for (let n = 1; n <= max; n++) lows.push(n);
  else {
    for (let k = 0; k < HEAT.length; k++) {
      const low = Math.ceil(max ** (k / HEAT.length));
      if (!lows.length || low > lows[lows.length - 1]) lows.push(low);
    }
  }
  return lows.map((low, i) => ({
    low,
    high: i + 1 < lows.length ? lows[i + 1] - 1 : max,
    colour: HEAT[lows.length === 1 ? HEAT.length - 1 : Math.round((i * (HEAT.length - 1)) / (lows.length - 1))],
  }));
}

function heatColour(n) {
  if (!n) return 'transparent';
  let colour = HEAT[0];
  for (const cls of view.heatClasses) if (n >= cls.low) colour = cls.colour;
  return colour;
}

// ---------------------------------------------------------------- district-tier events

async function loadMajors() {
  const items = [];
  try {
    let after;
    do {
      const page = await api('/api/cases', { query: { tier: 'district', limit: 500, after } });
      items.push(...page.items);
      after = page.next_after ?? undefined;
    } while (after !== undefined);
  } catch (error) {
    $('major-list').replaceChildren(el('p', { class: 'error-text small' }, error.message || t('error.internal')));
    return;
  }
  view.majors = new Map(items.filter(isMajor).map((c) => [c.id, c]));
  renderMajors();
}

function renderMajors() {
  const list = $('major-list');
  const items = [...view.majors.values()].sort(
    (a, b) => COLOUR_ORDER.indexOf(caseColour(a)) - COLOUR_ORDER.indexOf(caseColour(b)) || new Date(b.reported_at) - new Date(a.reported_at),
  );
  $('major-count').textContent = items.length ? String(items.length) : '';
  $('major').classList.toggle('has-events', items.length > 0);
  if (!items.length) {
    list.replaceChildren(el('p', { class: 'major-none small' }, t('command.major.none')));
    return;
  }
  const { departmentByCode } = view.ref;
  list.replaceChildren(
    ...items.map((c) => {
      const colour = caseColour(c);
      const co = c.co_departments.map((code) => departmentByCode.get(code)?.short_name || departmentByCode.get(code)?.name || code);
      const lead = c.department ? departmentByCode.get(c.department)?.name || c.department_name || c.department : null;
      return el(
        'button',
        { type: 'button', class: 'major-card', 'data-case': c.id, 'data-colour': colour, 'aria-label': t('command.major.show', { id: c.id }) + ` · ${c.title}`, onclick: (event) => focusCase(c.id, { keyboard: event.detail === 0 }) },
        el(
          'span',
          { class: 'major-top' },
          el('span', { class: 'major-no' }, `#${c.id}`),
          el('span', { class: 'badge state' }, stateName(c.state)),
          c.deadline ? el('span', { class: `badge ${colour}` }, fmtDeadline(c.deadline)) : null,
        ),
        el('span', { class: 'major-title' }, c.title),
        el(
          'span',
          { class: 'major-depts' },
          lead ? el('span', {}, el('b', {}, `${t('command.major.lead')} `), lead) : el('span', {}, t('command.major.undispatched')),
          co.length ? el('span', {}, el('b', {}, `${t('command.major.co')} `), co.join('、')) : null,
        ),
        el('span', { class: 'major-place' }, c.cell_name || c.cell),
      );
    }),
  );
}

// ---------------------------------------------------------------- KPIs

async function loadKpis() {
  const windowKey = view.filters.window;
  const days = windowKey === 'all' ? 3660 : Number(windowKey);
  $('kpi-window').textContent = t('command.kpi.window', { window: t(`command.window.${windowKey}`) });
  let rows;
  try {
    rows = await api('/api/kpis', { query: { by: 'district', days } });
  } catch (error) {
    showError(error);
    return;
  }
  if (windowKey !== view.filters.window) return;
  renderKpis(rows?.[0]?.figures);
}

/** The KPI tiles; `f` null draws them empty (while loading), so that the strip keeps its height. */
function renderKpis(f) {
  const pct = (value) => (value === null || value === undefined || Number.isNaN(value) ? '—' : `${Math.round(value * 1000) / 10}%`);
  const tile = (key, label, value, extra = '') =>
    el('div', { class: `kpi-tile ${extra}`, 'data-kpi': key }, el('dt', {}, label), el('dd', {}, value));
  if (f === undefined) {
    $('kpi-tiles').replaceChildren(el('div', { class: 'kpi-tile' }, el('dt', {}, t('command.kpi.title')), el('dd', { class: 'none' }, t('command.kpi.none'))));
    return;
  }
  const unit = t('command.kpi.unit');
  if (f === null) f = {};
  const num = (value) => (value === undefined ? '—' : String(value));
  $('kpi-tiles').replaceChildren(
    tile('reported', t('command.kpi.reported'), el('span', {}, num(f.reported), unit ? el('small', {}, unit) : null)),
    tile('closure_rate', t('command.kpi.closure_rate'), pct(f.closure_rate)),
    tile('on_time_handling_rate', t('command.kpi.on_time'), pct(f.on_time_handling_rate)),
    tile('satisfaction_rate', t('command.kpi.satisfaction'), pct(f.satisfaction_rate)),
    tile('overdue', t('command.kpi.overdue'), el('span', {}, num(f.overdue), unit ? el('small', {}, unit) : null), f.overdue ? 'alarm' : ''),
  );
}

// ---------------------------------------------------------------- live feed

function startFeed() {
  clearTimeout(view.feedRetry);
  view.feed?.close();
  setLive('connecting');
  let url = `/api/feed?access_token=${encodeURIComponent(token() || '')}`;
  if (view.lastPosition !== null) url += `&after=${view.lastPosition}`;
  const source = new EventSource(url);
  view.feed = source;
  source.onopen = () => setLive('on');
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused outright (an expired sign-in, a restart): try again a little later.
      setLive('off');
      view.feedRetry = setTimeout(startFeed, 15000);
    } else {
      setLive('connecting'); // EventSource reconnects by itself, resuming after the last id
    }
  };
  for (const kind of EVENT_KINDS) source.addEventListener(kind, onFeedEvent);
  source.onmessage = onFeedEvent;
  // The business clock was moved (a training server): colours, overdue counts and KPIs changed.
  source.addEventListener('clock', () => syncClock().then(rereadClockBound));
}

/** Re-reads what depends on the clock alone: deadline colours, district-tier events, KPIs. */
function rereadClockBound() {
  loadCases({ quiet: true });
  loadMajors();
  loadKpis();
}

function setLive(state) {
  const box = $('live');
  box.className = `live ${state}`;
  box.dataset.state = state;
  const last = view.activity[0];
  $('live-text').textContent =
    state === 'on' && last ? t('command.live.last', { time: clock(last.at) }) : t(`command.live.${state}`);
}

function clock(date) {
  return date.toLocaleTimeString(lang() === 'en' ? 'en-GB' : 'zh-CN', { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'Asia/Shanghai' });
}

function onFeedEvent(event) {
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    return;
  }
  if (!data?.case_id) return;
  if (data.position) view.lastPosition = data.position;
  view.activity.unshift({ at: new Date(serverNow()), kind: data.kind || event.type, id: data.case_id, title: null });
  view.activity.length = Math.min(view.activity.length, ACTIVITY_MAX);
  setLive('on');
  renderActivity();
  view.pending.set(data.case_id, data);
  clearTimeout(view.pendingTimer);
  // Several events of one command (merge: both cases) arrive together: read each case once.
  view.pendingTimer = setTimeout(flushPending, 250);
}

async function flushPending() {
  const ids = [...view.pending.keys()];
  view.pending.clear();
  for (const id of ids) {
    try {
      const detail = await api(`/api/cases/${id}`);
      for (const entry of view.activity) if (entry.id === id) entry.title = detail.case.title;
      upsert(detail.case, { flash: true });
    } catch (error) {
      if (error.status === 404) removeCase(id); // no longer in this account's scope
      else showError(error);
    }
  }
  renderActivity();
  // The KPI strip follows the feed too, but at most every few seconds: it replays histories.
  if (!view.kpiTimer) {
    view.kpiTimer = setTimeout(() => {
      view.kpiTimer = null;
      loadKpis();
    }, 3000);
  }
}

function renderActivity() {
  const list = $('activity-list');
  $('activity-empty').classList.toggle('hidden', view.activity.length > 0);
  list.replaceChildren(
    ...view.activity.map((entry) =>
      el(
        'li',
        {},
        el(
          'button',
          { type: 'button', class: 'activity-item', 'data-case': entry.id, onclick: (event) => focusCase(entry.id, { keyboard: event.detail === 0 }) },
          el('time', {}, clock(entry.at)),
          el('span', { class: `kind kind-${entry.kind}` }, t(`event.${entry.kind}`)),
          el('span', { class: 'what' }, `#${entry.id}`, entry.title ? ` ${entry.title}` : ''),
        ),
      ),
    ),
  );
}
