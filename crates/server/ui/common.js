// What every page shares: the API client, the signed-in session, interface language (中文 / English),
// errors as sentences, the top bar, and small formatting helpers. Pages are plain ES modules that
// import from here; there is no bundler.

const TOKEN_KEY = 'onegrid.token';
const PERSON_KEY = 'onegrid.person';
const LANG_KEY = 'onegrid.lang';

// ---------------------------------------------------------------- language

const strings = { zh: {}, en: {} };

/** Adds a page's strings: `{zh: {key: '…'}, en: {key: '…'}}`. */
export function addStrings(dict) {
  for (const lang of Object.keys(strings)) Object.assign(strings[lang], dict[lang] || {});
}

export function lang() {
  return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
}

export function setLang(value) {
  localStorage.setItem(LANG_KEY, value === 'en' ? 'en' : 'zh');
  location.reload();
}

/** The string for `key` in the interface language, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = strings[lang()][key] ?? strings.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? ''));
}

/** Fills every element with `data-i18n="key"` (text) or `data-i18n-placeholder` / `-title` / `-aria-label`. */
export function translatePage(root = document) {
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  // <title data-i18n-page="nav.kpi"> names the page in the tab, in the page's language.
  const page = document.querySelector('title[data-i18n-page]')?.dataset.i18nPage;
  if (page && root === document) document.title = `${t('app.name')} · ${t(page)}`;
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const attr of ['placeholder', 'title', 'aria-label']) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      node.setAttribute(attr, t(node.getAttribute(`data-i18n-${attr}`)));
    }
  }
}

addStrings({
  zh: {
    'app.name': '一张网格',
    'app.slogan': '大事全网联动，小事一格解决',
    'nav.command': '指挥中心',
    'nav.desk': '案件受理',
    'nav.opinions': '舆情',
    'nav.worker': '网格员',
    'nav.citizen': '我要上报',
    'nav.kpi': '考核统计',
    'nav.supervision': '督查督办',
    'nav.projects': '重大项目',
    'nav.api': '接口文档',
    'nav.signout': '退出',
    'nav.lang': 'English',
    'common.loading': '正在加载…',
    'common.retry': '重试',
    'common.cancel': '取消',
    'common.confirm': '确定',
    'common.save': '保存',
    'common.close': '关闭',
    'common.none': '无',
    'common.all': '全部',
    'common.search': '搜索',
    'common.refresh': '刷新',
    'common.done': '已完成',
    'error.network': '无法连接服务器，请检查网络后重试。',
    'error.unauthorized': '登录已失效，请重新登录。',
    'error.login': '账号或密码不正确。',
    'error.forbidden': '您的账号无权进行此操作。',
    'error.out_of_scope': '这件事不在您负责的范围内。',
    'error.not_found': '没有找到您要的内容，它可能不存在或不在您的权限范围内。',
    'error.illegal_transition': '案件当前的状态不允许这样操作，请刷新后查看。',
    'error.version_conflict': '案件刚刚被其他人更新过，请刷新后再操作。',
    'error.too_large': '文件太大了，每张照片不能超过 8 MB。',
    'error.unsupported_media_type': '只能上传照片（JPEG、PNG、WebP、GIF、HEIF）。',
    'error.rate_limited': '提交太频繁了，请稍等一会儿再试。',
    'error.invalid_input': '填写的内容有问题：',
    'error.stage_order': '项目各阶段的日期先后不对（签约 → 落地 → 开工 → 投产）：',
    'error.already_imported': '这份报告已经导入过了，它的任务已在列表中；要导入另一份报告，请换一个名称。',
    'error.bad_request': '请求有误：',
    'error.bad_location': '这个位置不在本区的网格范围内，请在地图上重新选一个位置。',
    'error.no_grid': '系统还没有导入网格，暂时无法定位到网格。请联系管理员。',
    'error.role_not_allowed': '您的账号无权进行此操作。',
    'error.bad_import': '表格里有填写不对的行，整份表格都没有导入；请按下面的行号改正后重新导入：',
    'error.calendar': '工作日历还没有覆盖这个日期，无法计算办理时限；请联系管理员补充节假日安排。',
    'error.shutting_down': '服务器正在重启，请稍等片刻再试。',
    'error.clock_fixed': '这台服务器使用系统时间，不能调整业务时钟（仅培训和测试服务器可以）。',
    'error.timeout': '服务器处理超时，请稍后再试。',
    'error.internal': '服务器出错了，请稍后再试；问题持续请联系管理员。',
    'error.detail': '详情：{detail}',
    'state.reported': '待受理',
    'state.accepted': '已立案',
    'state.rejected': '不予受理',
    'state.handling': '处置中',
    'state.awaiting_verification': '待核查',
    'state.verified': '已核查',
    'state.closed': '已结案',
    'state.long_term': '长期跟踪',
    'state.merged': '已合并',
    'tier.grid': '网格',
    'tier.street': '街道',
    'tier.district': '区级',
    'channel.citizen': '市民上报',
    'channel.grid_worker': '网格员巡查',
    'channel.hotline_12345': '12345热线',
    'channel.police_110': '110联动',
    'channel.public_opinion': '舆情',
    'channel.sensor': '感知设备',
    'channel.open311': '接口接入',
    'channel.desk': '窗口登记',
    'colour.green': '正常',
    'colour.yellow': '临期',
    'colour.red': '超期',
    'time.due_in': '剩 {time}',
    'time.overdue_by': '超期 {time}',
    'time.minutes': '{n} 分钟',
    'time.hours': '{n} 小时',
    'time.days': '{n} 天',
  },
  en: {
    'app.name': 'onegrid',
    'app.slogan': 'Big events: the whole network acts. Small matters: settled in the cell.',
    'nav.command': 'Command center',
    'nav.desk': 'Case desk',
    'nav.opinions': 'Public opinion',
    'nav.worker': 'Grid worker',
    'nav.citizen': 'Report',
    'nav.kpi': 'KPIs',
    'nav.supervision': 'Supervision',
    'nav.projects': 'Major projects',
    'nav.api': 'API',
    'nav.signout': 'Sign out',
    'nav.lang': '中文',
    'common.loading': 'Loading…',
    'common.retry': 'Retry',
    'common.cancel': 'Cancel',
    'common.confirm': 'OK',
    'common.save': 'Save',
    'common.close': 'Close',
    'common.none': 'None',
    'common.all': 'All',
    'common.search': 'Search',
    'common.refresh': 'Refresh',
    'common.done': 'Done',
    'error.network': 'The server cannot be reached. Check the network and try again.',
    'error.unauthorized': 'Your sign-in has expired. Please sign in again.',
    'error.login': 'The account or the password is wrong.',
    'error.forbidden': 'Your account may not do this.',
    'error.out_of_scope': 'This is outside the area or department you are responsible for.',
    'error.not_found': 'Nothing was found here: it does not exist or is outside what you may see.',
    'error.illegal_transition': 'The case is in a state that does not allow this. Refresh to see where it stands.',
    'error.version_conflict': 'Someone else has just updated this case. Refresh and try again.',
    'error.too_large': 'The file is too large: each photo may be at most 8 MB.',
    'error.unsupported_media_type': 'Only photos can be uploaded (JPEG, PNG, WebP, GIF, HEIF).',
    'error.rate_limited': 'Too many reports in a short time. Please wait a moment and try again.',
    'error.invalid_input': 'Something in the form needs fixing: ',
    'error.stage_order': 'The stage dates are out of order (signed → landed → started → producing): ',
    'error.already_imported': 'This report was imported already; its tasks are in the list. To import another report, give it another name.',
    'error.bad_request': 'The request was not understood: ',
    'error.bad_location': 'This point is outside the district’s grid. Choose another point on the map.',
    'error.no_grid': 'No grid has been imported yet, so reports cannot be placed. Tell the administrator.',
    'error.role_not_allowed': 'Your account may not do this.',
    'error.bad_import': 'Some rows of the workbook are wrong, so nothing was imported. Fix the rows named below and import it again: ',
    'error.calendar': 'The working calendar does not cover this date yet, so deadlines cannot be counted. Tell the administrator to add the holidays.',
    'error.shutting_down': 'The server is restarting. Please try again in a moment.',
    'error.clock_fixed': 'This server runs on the system clock; only a training or test server’s clock can be moved.',
    'error.timeout': 'The server took too long. Please try again shortly.',
    'error.internal': 'The server failed. Try again shortly; if it persists, tell the administrator.',
    'error.detail': 'Details: {detail}',
    'state.reported': 'Reported',
    'state.accepted': 'Accepted',
    'state.rejected': 'Rejected',
    'state.handling': 'Being handled',
    'state.awaiting_verification': 'Awaiting verification',
    'state.verified': 'Verified',
    'state.closed': 'Closed',
    'state.long_term': 'Long-term',
    'state.merged': 'Merged',
    'tier.grid': 'Grid',
    'tier.street': 'Street',
    'tier.district': 'District',
    'channel.citizen': 'Citizen',
    'channel.grid_worker': 'Grid patrol',
    'channel.hotline_12345': '12345 hotline',
    'channel.police_110': 'Police feed',
    'channel.public_opinion': 'Public opinion',
    'channel.sensor': 'Sensor',
    'channel.open311': 'Open311',
    'channel.desk': 'Front desk',
    'colour.green': 'On time',
    'colour.yellow': 'Due soon',
    'colour.red': 'Overdue',
    'time.due_in': '{time} left',
    'time.overdue_by': '{time} overdue',
    'time.minutes': '{n} min',
    'time.hours': '{n} h',
    'time.days': '{n} d',
  },
});

// ---------------------------------------------------------------- session

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

/** The signed-in account as the login answered it ({id, name, role, role_zh, scope}), or null. */
export function person() {
  try {
    return JSON.parse(localStorage.getItem(PERSON_KEY) || 'null');
  } catch {
    return null;
  }
}

export function saveSession(login) {
  localStorage.setItem(TOKEN_KEY, login.token);
  localStorage.setItem(PERSON_KEY, JSON.stringify(login.person));
}

export function clearSession() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(PERSON_KEY);
}

/** The page each role starts on. */
export function homeFor(role) {
  return {
    citizen: '/ui/citizen.html',
    grid_worker: '/ui/worker.html',
    dispatcher: '/ui/desk.html',
    department_handler: '/ui/desk.html',
    commander: '/ui/command.html',
    supervisor: '/ui/kpi.html',
    admin: '/ui/command.html',
    integrator: '/api/docs',
  }[role] || '/ui/';
}

/** The pages each role may open (the top bar shows these). */
const PAGES = [
  ['command', '/ui/command.html', ['commander', 'supervisor', 'dispatcher', 'admin']],
  ['desk', '/ui/desk.html', ['dispatcher', 'department_handler', 'commander', 'supervisor']],
  // 舆情: GET /api/opinions allows these three; placing (dispatcher, commander) is checked on the page.
  ['opinions', '/ui/opinions.html', ['dispatcher', 'commander', 'supervisor']],
  ['worker', '/ui/worker.html', ['grid_worker']],
  ['citizen', '/ui/citizen.html', ['citizen']],
  ['kpi', '/ui/kpi.html', ['commander', 'supervisor', 'dispatcher', 'department_handler']],
  ['supervision', '/ui/supervision.html', ['supervisor', 'commander', 'department_handler']],
  ['projects', '/ui/projects.html', ['supervisor', 'commander', 'department_handler']],
];

/**
 * Makes sure someone is signed in (and, when `roles` is given, in one of them); otherwise goes to
 * the sign-in page, which comes back here afterwards. Returns the fresh account from /api/me.
 */
export async function requireSignIn(roles) {
  const back = () => {
    location.href = `/ui/?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`;
    return new Promise(() => {});
  };
  if (!token()) return back();
  let me;
  try {
    // /api/me answers {person, expires_at}.
    const [answer] = await Promise.all([api('/api/me'), syncClock()]);
    me = answer?.person ?? answer;
  } catch (error) {
    if (error.status === 401) {
      clearSession();
      return back();
    }
    throw error;
  }
  localStorage.setItem(PERSON_KEY, JSON.stringify(me));
  if (roles && !roles.includes(me.role)) {
    location.href = homeFor(me.role);
    return new Promise(() => {});
  }
  return me;
}

export async function signOut() {
  try {
    await api('/api/auth/logout', { method: 'POST' });
  } catch {
    // Signed out locally whatever the server says.
  }
  clearSession();
  location.href = '/ui/';
}

// ---------------------------------------------------------------- API

/** A failed API call, with a sentence for people (`message`) and the problem document. */
export class ApiFailure extends Error {
  constructor(status, problem, sentence) {
    super(sentence);
    this.status = status;
    this.problem = problem;
    this.code = problem?.code;
  }
}

/** Turns a problem document into a sentence a person can act on, in the interface language. */
/** Problem codes whose sentence is only fixable with the server's detail (which field, which row). */
const DETAIL_NEEDED = new Set(['invalid_input', 'bad_request', 'stage_order', 'bad_import']);

export function sentenceFor(status, problem) {
  const code = problem?.code;
  const detail = problem?.detail || '';
  if (status === 0) return t('error.network');
  if (status === 401) return code === 'unauthorized' && /password|account/.test(detail) ? t('error.login') : t('error.unauthorized');
  if (status === 408 || status === 504) return t('error.timeout');
  const known = code && strings[lang()][`error.${code}`];
  // A 503 with a code (calendar, shutting_down) says what to do; other server failures do not.
  if (status >= 500 && !(status === 503 && known)) return t('error.internal');
  if (known) {
    // Input problems need the specific detail to be fixable; the others read well alone.
    if (DETAIL_NEEDED.has(code)) return known + detail;
    return detail && lang() === 'en' ? `${known} (${detail})` : known;
  }
  if (status === 403) return t('error.forbidden');
  if (status === 404) return t('error.not_found');
  return detail || `HTTP ${status}`;
}

/**
 * Calls the API. `body` is sent as JSON, `form` (a FormData) as multipart; `query` is an object of
 * query parameters (empty values left out). Returns the parsed JSON (or null for empty answers);
 * throws ApiFailure with a readable sentence.
 */
export async function api(path, { method = 'GET', body, form, query, raw = false } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, value);
    }
    const text = params.toString();
    if (text) url += (url.includes('?') ? '&' : '?') + text;
  }
  const headers = { Accept: 'application/json' };
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload });
  } catch {
    throw new ApiFailure(0, null, t('error.network'));
  }
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      // Not a problem document (a proxy's page, say): the status alone speaks.
    }
    throw new ApiFailure(response.status, problem, sentenceFor(response.status, problem));
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Reference data every page needs, fetched once per page load. */
let referenceCache;
export function reference() {
  referenceCache ??= Promise.all([
    api('/api/areas'),
    api('/api/categories'),
    api('/api/departments'),
  ]).then(([areas, categories, departments]) => ({
    areas,
    categories,
    departments,
    areaByCode: new Map(areas.map((a) => [a.code, a])),
    categoryByCode: new Map(categories.map((c) => [c.code, c])),
    departmentByCode: new Map(departments.map((d) => [d.code, d])),
  }));
  return referenceCache;
}

let uiConfigCache;
export function uiConfig() {
  uiConfigCache ??= fetch('/ui/config.json').then((r) => r.json());
  return uiConfigCache;
}

// ---------------------------------------------------------------- page furniture

/** Builds an element: el('button', {class: 'primary', onclick: f}, 'text', child…). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'style' && typeof value === 'object') Object.assign(node.style, value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * Draws the top bar into `<header id="topbar">`: the product name, this page's title, the pages
 * the account may open, the language switch and sign-out.
 */
export function topBar(me, current) {
  const bar = document.getElementById('topbar');
  if (!bar) return;
  bar.replaceChildren(
    el('a', { class: 'brand', href: homeFor(me?.role) }, el('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '格'), el('span', { class: 'brand-text' }, t('app.name'))),
    el(
      'nav',
      { class: 'pages', 'aria-label': 'pages' },
      PAGES.filter(([, , roles]) => me && roles.includes(me.role)).map(([key, href]) =>
        el('a', { href, class: key === current ? 'current' : '', 'aria-current': key === current ? 'page' : null }, t(`nav.${key}`)),
      ),
    ),
    el(
      'div',
      { class: 'account' },
      me ? el('span', { class: 'who', title: `${me.id} · ${lang() === 'en' ? me.role.replace('_', ' ') : me.role_zh}` }, me.name) : null,
      el('button', { type: 'button', class: 'link', onclick: () => setLang(lang() === 'en' ? 'zh' : 'en') }, t('nav.lang')),
      me ? el('button', { type: 'button', class: 'link', onclick: signOut }, t('nav.signout')) : null,
    ),
  );
}

/** A short message at the bottom of the screen; errors stay until dismissed. */
export function toast(message, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = el('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  // A success supersedes the errors still on screen from earlier attempts.
  if (kind === 'ok') for (const stale of box.querySelectorAll('.toast.error')) stale.remove();
  const item = el('div', { class: `toast ${kind}` }, el('span', {}, message));
  const close = () => item.remove();
  item.append(el('button', { type: 'button', class: 'link', 'aria-label': t('common.close'), onclick: close }, '×'));
  box.append(item);
  if (kind !== 'error') setTimeout(close, 4000);
  return item;
}

/** Shows an error from `api()` (or anything thrown) as a sentence. */
export function showError(error) {
  // A refused request is an expected, handled outcome: a warning, not an error, in the console.
  if (error instanceof ApiFailure) console.warn(error.message, error.problem);
  else console.error(error);
  toast(error instanceof ApiFailure ? error.message : t('error.internal'), 'error');
}

// ---------------------------------------------------------------- formatting

export function fmtTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleString(lang() === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function fmtSpan(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  if (minutes < 60) return t('time.minutes', { n: minutes });
  if (minutes < 48 * 60) return t('time.hours', { n: Math.round(minutes / 6) / 10 });
  return t('time.days', { n: Math.round(minutes / 144) / 10 });
}

/** Text made safe for the few places that take HTML strings (Leaflet icons, ECharts tooltips). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/**
 * A Leaflet map for a page: on the district's own tiles when `config.tile_url` is set (with their
 * attribution, and without Leaflet's link to its website: a district's closed network has no
 * internet), else a blank map the grid is drawn on. The map is reachable from its element
 * (`leafletMap`, for tests and tools; not a global).
 */
export function districtMap(target, config, options = {}) {
  const map = L.map(target, { attributionControl: Boolean(config?.tile_url), zoomSnap: 0.5, ...options });
  map.attributionControl?.setPrefix(false);
  map.getContainer().leafletMap = map;
  if (config?.tile_url) L.tileLayer(config.tile_url, { attribution: config.tile_attribution || '', maxZoom: 19 }).addTo(map);
  return map;
}

/** Lets a person drop a pin on `map`: a click, or Enter on the focused map (its arrows pan) pins its
 *  centre. `pin(lon, lat)` gets the place. */
export function pinOnClickOrEnter(map, pin) {
  map.on('click', (event) => pin(event.latlng.lng, event.latlng.lat));
  const box = map.getContainer();
  box.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.target !== box) return;
    event.preventDefault();
    const centre = map.getCenter();
    pin(centre.lng, centre.lat);
  });
}

/** How far the server's business clock is ahead of this browser's (its own error included). */
let serverAheadMs = 0;

/** Now on the server's clock: what deadlines are counted against (`/api/clock`). */
export function serverNow() {
  return Date.now() + serverAheadMs;
}

/** Reads the server's clock (at sign-in, and when the feed says a training server's clock moved). */
export async function syncClock() {
  try {
    const sent = Date.now();
    const clock = await api('/api/clock');
    const now = Date.parse(clock.now);
    if (Number.isFinite(now)) serverAheadMs = now - (sent + Date.now()) / 2;
  } catch {
    // Keep the last reading: the browser's own clock is the fallback.
  }
}

/** "3.5 小时后到期" / "超期 2 天" for a case's deadline. */
export function fmtDeadline(deadline, now = serverNow()) {
  if (!deadline) return '';
  const left = new Date(deadline.due_at).getTime() - now;
  return left >= 0 ? t('time.due_in', { time: fmtSpan(left) }) : t('time.overdue_by', { time: fmtSpan(left) });
}

export function stateName(state) {
  return t(`state.${state}`);
}

/** The colours of deadlines and states, shared by the map, the queue and the charts. */
export const COLOURS = {
  green: '#1a7f37',
  yellow: '#b7791f',
  red: '#c62828',
  none: '#64748b',
  closed: '#475569',
};

/** A case's colour now: its running deadline's colour, grey when nothing runs (closed, rejected…). */
export function caseColour(item) {
  return item?.deadline?.colour || 'none';
}
