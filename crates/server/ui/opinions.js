// 舆情: the posts the monitoring system sent (GET /api/opinions), newest first, filtered by decision
// (待定位 by default). A desk (dispatcher, command center) places a post that needs a place, or
// overrides a dismissal, by dropping a pin on the grid map (POST /api/opinions/{id}/place); a
// supervisor reads only. Rules: docs/api.md, "Public opinion (舆情)".
import { addStrings, api, districtMap, el, pinOnClickOrEnter, fmtTime, requireSignIn, showError, t, toast, topBar, translatePage, uiConfig } from '/ui/common.js';
import { featureAt } from '/ui/report-form.js';

addStrings({
  zh: {
    'op.title': '舆情',
    'op.filter': '按处理结果筛选',
    'op.list': '舆情列表',
    'op.d.needs_place': '待定位',
    'op.d.opened': '已立案',
    'op.d.attached': '已关联',
    'op.d.dismissed': '已排除',
    'op.intro.needs_place': '这些舆情与辖区治理有关，但没有说清地点、也没有相似的在办案件：请在地图上定位后立案。',
    'op.intro.dismissed': '模型判断这些舆情与辖区治理无关。如有误判，可以「仍然立案」。',
    'op.intro.readonly': '您可以查看舆情；定位立案由受理员或指挥中心办理。',
    'op.summary': '共 {n} 条',
    'op.summary.cap': '显示最近 {n} 条',
    'op.empty': '没有符合条件的舆情。',
    'op.more': '再显示 {n} 条',
    'op.score': '相关度 {score}',
    'op.score.title': '模型打分 {score}，阈值 {threshold}',
    'op.label': '建议分类：{label}',
    'op.label.conf': '建议分类：{label}（{p}%）',
    'op.posted': '发布于 {time}',
    'op.received': '收到 {time}',
    'op.original': '原文链接',
    'op.case': '案件 #{id}',
    'op.case.attached': '并入案件 #{id}',
    'op.candidate': '相似的在办案件 #{id}（相似度 {s}）',
    'op.place_given': '自带地点：{where}',
    'op.placed': '{who} 于 {time} 定位',
    'op.override': '人工改判（模型原判：{decision}）',
    'op.action.place': '定位立案',
    'op.action.override': '仍然立案',
    'op.action.override.title': '模型判断与治理无关；仍然定位立案',
    'op.place.title': '定位立案 · 舆情 #{id}',
    'op.place.title.override': '仍然立案（推翻模型判断）· 舆情 #{id}',
    'op.place.help': '在地图上点一下舆情所说的地点（也可以用方向键移动地图，按回车把图钉放在地图中心）。',
    'op.place.map': '网格地图：点击放置图钉',
    'op.place.address': '地址（可选）',
    'op.place.submit': '立案',
    'op.place.none': '还没有放置图钉。',
    'op.place.in': '图钉在网格：{name}（{code}）',
    'op.place.outside': '图钉不在辖区网格内，请另选一点。',
    'op.place.own': '舆情自带的位置已放好图钉，可以直接立案或另选一点。',
    'op.placed.opened': '已立案：案件 #{id}',
    'op.placed.attached': '已并入在办案件 #{id}',
    'op.map_failed': '地图加载失败：{msg}',
    'error.not_placeable': '这条舆情刚刚已被别人立案或并入案件；列表已更新，请在「已立案」「已关联」里查看。',
  },
  en: {
    'op.title': 'Public opinion (舆情)',
    'op.filter': 'Filter by outcome',
    'op.list': 'Posts',
    'op.d.needs_place': 'Needs a place',
    'op.d.opened': 'Case opened',
    'op.d.attached': 'Attached',
    'op.d.dismissed': 'Dismissed',
    'op.intro.needs_place': 'These posts concern the district’s governance but say no place and match no open case: place them on the map to open a case.',
    'op.intro.dismissed': 'The model judged these posts unrelated to governance. If it was wrong, use “Open anyway”.',
    'op.intro.readonly': 'You may read the posts; placing them is for the desk and the command center.',
    'op.summary': '{n} posts',
    'op.summary.cap': 'the latest {n} posts',
    'op.empty': 'No post matches.',
    'op.more': 'Show {n} more',
    'op.score': 'relevance {score}',
    'op.score.title': 'model score {score}, threshold {threshold}',
    'op.label': 'suggested: {label}',
    'op.label.conf': 'suggested: {label} ({p}%)',
    'op.posted': 'posted {time}',
    'op.received': 'received {time}',
    'op.original': 'original post',
    'op.case': 'case #{id}',
    'op.case.attached': 'joined case #{id}',
    'op.candidate': 'similar open case #{id} (similarity {s})',
    'op.place_given': 'place given: {where}',
    'op.placed': 'placed by {who} at {time}',
    'op.override': 'overridden by the desk (model said: {decision})',
    'op.action.place': 'Place and open',
    'op.action.override': 'Open anyway',
    'op.action.override.title': 'The model judged it unrelated; place it and open a case anyway',
    'op.place.title': 'Place post #{id}',
    'op.place.title.override': 'Open anyway (overriding the model) · post #{id}',
    'op.place.help': 'Click the place the post is about (or move the map with the arrow keys and press Enter to pin its centre).',
    'op.place.map': 'Grid map: click to drop the pin',
    'op.place.address': 'Address (optional)',
    'op.place.submit': 'Open case',
    'op.place.none': 'No pin yet.',
    'op.place.in': 'Pin in cell {name} ({code})',
    'op.place.outside': 'The pin is outside the district’s grid; choose another point.',
    'op.place.own': 'The pin is at the place the post came with: open the case, or choose another point.',
    'op.placed.opened': 'Case #{id} opened',
    'op.placed.attached': 'Attached to open case #{id}',
    'op.map_failed': 'The map failed to load: {msg}',
    'error.not_placeable': 'Someone has just placed this post; the list has been updated — see it under Opened or Attached.',
  },
});

const DECISIONS = ['needs_place', 'opened', 'attached', 'dismissed'];
const BADGE = { needs_place: 'yellow', opened: 'green', attached: 'state', dismissed: 'grey' };
/** Posts fetched at most (newest kept); the API pages oldest first, so the page reads them all. */
const CAP = 2000;
const SHOWN_STEP = 100;

const $ = (id) => document.getElementById(id);
const state = { me: null, canPlace: false, decision: 'needs_place', posts: [], shown: SHOWN_STEP, capped: false, loading: 0 };

const decisionName = (d) => t(`op.d.${d}`);
const caseHref = (id) => `/ui/desk.html#case=${encodeURIComponent(id)}`;

/** Only web addresses become links (the API checks, the page does not trust it blindly). */
function webLink(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- list

async function load() {
  const ticket = ++state.loading;
  $('op-summary').textContent = t('common.loading');
  const posts = [];
  let after;
  let capped = false;
  try {
    for (;;) {
      const page = await api('/api/opinions', { query: { decision: state.decision, after, limit: 500 } });
      posts.push(...page.items);
      // The API pages oldest first: read to the end and keep only the newest CAP.
      if (posts.length > CAP) {
        posts.splice(0, posts.length - CAP);
        capped = true;
      }
      if (!page.next_after) break;
      after = page.next_after;
    }
  } catch (error) {
    if (ticket === state.loading) $('op-summary').textContent = '';
    showError(error);
    return;
  }
  if (ticket !== state.loading) return; // a later filter won
  // Newest first: received later = larger id.
  state.posts = posts.sort((a, b) => b.id - a.id);
  state.capped = capped;
  state.shown = SHOWN_STEP;
  render();
}

function render() {
  const { posts } = state;
  $('op-summary').textContent = state.capped ? t('op.summary.cap', { n: posts.length }) : t('op.summary', { n: posts.length });
  const intro = !state.canPlace ? 'op.intro.readonly' : state.decision === 'needs_place' || state.decision === 'dismissed' ? `op.intro.${state.decision}` : '';
  $('op-intro').textContent = intro ? t(intro) : '';
  $('op-list').replaceChildren(...posts.slice(0, state.shown).map((post) => el('li', {}, card(post))));
  $('op-empty').hidden = posts.length > 0;
  $('op-empty').textContent = t('op.empty');
  const rest = posts.length - state.shown;
  $('op-more').hidden = rest <= 0;
  $('op-more').textContent = t('op.more', { n: Math.min(rest, SHOWN_STEP) });
}

function card(post) {
  const score = post.relevance.score.toFixed(2);
  const facts = [];
  if (post.case_id) {
    facts.push(el('a', { class: 'op-case', href: caseHref(post.case_id) }, t(post.decision === 'attached' ? 'op.case.attached' : 'op.case', { id: post.case_id })));
  } else if (post.candidate) {
    facts.push(el('a', { href: caseHref(post.candidate.case_id) }, t('op.candidate', { id: post.candidate.case_id, s: post.candidate.similarity.toFixed(2) })));
  }
  const link = post.url && webLink(post.url);
  if (link) facts.push(el('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, t('op.original')));
  const where = post.address || post.cell || (post.location ? `${post.location.lon.toFixed(5)}, ${post.location.lat.toFixed(5)}` : '');
  if (where) facts.push(el('span', {}, t('op.place_given', { where })));
  if (post.placed_by) facts.push(el('span', {}, t('op.placed', { who: post.placed_by, time: fmtTime(post.placed_at) })));
  if (post.auto_decision !== post.decision && post.auto_decision === 'dismissed') {
    facts.push(el('span', { class: 'op-override' }, t('op.override', { decision: decisionName(post.auto_decision) })));
  }

  let action = null;
  if (state.canPlace && (post.decision === 'needs_place' || post.decision === 'dismissed')) {
    const override = post.decision === 'dismissed';
    action = el(
      'button',
      {
        type: 'button',
        class: override ? 'op-place' : 'op-place primary',
        title: override ? t('op.action.override.title') : null,
        'aria-describedby': `op-text-${post.id}`,
        onclick: (event) => openPlace(post, event.currentTarget),
      },
      t(override ? 'op.action.override' : 'op.action.place'),
    );
  }

  const label = post.label
    ? el('span', { class: 'op-label' }, post.confidence != null ? t('op.label.conf', { label: post.label, p: Math.round(post.confidence * 100) }) : t('op.label', { label: post.label }))
    : null;
  return el(
    'article',
    { class: `op-card panel edge-${post.decision}`, id: `op-${post.id}`, dataset: { id: post.id, decision: post.decision } },
    el(
      'div',
      { class: 'op-top' },
      el('span', { class: 'op-source' }, post.source),
      el('span', { class: `badge ${BADGE[post.decision] || 'none'} op-decision` }, decisionName(post.decision)),
      el('span', { class: `badge ${post.relevance.relevant ? 'green' : 'none'} op-score`, title: t('op.score.title', { score, threshold: post.relevance.threshold.toFixed(2) }) }, t('op.score', { score })),
      label,
      el('span', { class: 'grow' }),
      el('time', { class: 'muted small', datetime: post.received_at, title: post.posted_at ? t('op.posted', { time: fmtTime(post.posted_at) }) : null }, t('op.received', { time: fmtTime(post.received_at) })),
    ),
    el('p', { class: 'op-text', id: `op-text-${post.id}` }, post.text),
    el('div', { class: 'op-foot' }, el('div', { class: 'op-facts small' }, facts), action),
  );
}

// ---------------------------------------------------------------- placing

const place = { post: null, opener: null, map: null, marker: null, chosen: null, features: [], home: null, point: null, ready: null };

/** Builds the grid map once (the dialog must be open so that the map has its size). */
function buildMap() {
  place.ready ??= (async () => {
    const box = $('place-map');
    const config = await uiConfig();
    const map = districtMap(box, config, { keyboard: true });
    const [cells, streets] = await Promise.all([api('/api/grid/cell'), api('/api/grid/street')]);
    place.features = cells.features || [];
    const all = L.geoJSON(
      { type: 'FeatureCollection', features: place.features },
      { interactive: false, style: { color: '#0b4f8a', weight: 0.6, opacity: 0.6, fillColor: '#0b4f8a', fillOpacity: 0.04 } },
    ).addTo(map);
    // Streets drawn bolder so that the district reads at a glance.
    L.geoJSON(streets, { interactive: false, style: { color: '#083a66', weight: 2, opacity: 0.9, fill: false } }).addTo(map);
    // A desk starts on its own streets; the command center on the whole district. Any cell may be chosen.
    const scope = state.me?.scope?.areas || [];
    const mine = scope.length ? place.features.filter((f) => scope.some((area) => String(f.properties?.code || '').startsWith(area))) : [];
    place.home = mine.length ? L.geoJSON({ type: 'FeatureCollection', features: mine }).getBounds() : place.features.length ? all.getBounds() : null;
    pinOnClickOrEnter(map, setPin);
    place.map = map;
  })();
  return place.ready;
}

function setPin(lon, lat, own = false) {
  place.point = { lon, lat };
  if (!place.marker) place.marker = L.marker([lat, lon], { keyboard: false }).addTo(place.map);
  else place.marker.setLatLng([lat, lon]);
  const found = featureAt(place.features, [lon, lat]);
  place.chosen?.remove();
  place.chosen = found
    ? L.geoJSON(found, { interactive: false, style: { color: '#c2410c', weight: 2.5, fillColor: '#f59e0b', fillOpacity: 0.18 } }).addTo(place.map)
    : null;
  const where = $('place-where');
  where.classList.toggle('warn', !found);
  if (found) {
    const name = found.properties?.name || found.properties?.code;
    where.textContent = `${t('op.place.in', { name, code: found.properties?.code || '' })}${own ? ` · ${t('op.place.own')}` : ''}`;
  } else where.textContent = t('op.place.outside');
  $('place-submit').disabled = !found;
  $('place-error').hidden = true;
}

function clearPin() {
  place.point = null;
  place.marker?.remove();
  place.marker = null;
  place.chosen?.remove();
  place.chosen = null;
  $('place-where').textContent = t('op.place.none');
  $('place-where').classList.remove('warn');
  $('place-submit').disabled = true;
}

async function openPlace(post, opener) {
  place.post = post;
  place.opener = opener;
  const override = post.decision === 'dismissed';
  $('place-title').textContent = t(override ? 'op.place.title.override' : 'op.place.title', { id: post.id });
  $('place-text').textContent = post.text;
  $('place-address').value = post.address || '';
  $('place-error').hidden = true;
  $('place-dialog').showModal();
  clearPin();
  try {
    await buildMap();
  } catch (error) {
    place.ready = null;
    $('place-map').replaceChildren(el('p', { class: 'error-text', style: { padding: '0.75rem' } }, t('op.map_failed', { msg: error.message })));
    return;
  }
  place.map.invalidateSize();
  if (post.location) {
    setPin(post.location.lon, post.location.lat, true);
    place.map.setView([post.location.lat, post.location.lon], Math.max(place.map.getZoom() || 0, 15));
  } else if (place.home) place.map.fitBounds(place.home, { padding: [8, 8] });
  else place.map.setView([39.09, 117.33], 12);
  $('place-map').focus();
}

function closePlace() {
  $('place-dialog').close();
}

async function submitPlace(event) {
  event.preventDefault();
  const post = place.post;
  if (!post || !place.point) return;
  const submit = $('place-submit');
  submit.disabled = true;
  const body = { location: { lon: place.point.lon, lat: place.point.lat } };
  const address = $('place-address').value.trim();
  if (address) body.address = address;
  try {
    const outcome = await api(`/api/opinions/${post.id}/place`, { method: 'POST', body });
    const caseId = outcome.merged_into || outcome.case?.id;
    closePlace();
    toast(t(outcome.decision === 'attached' ? 'op.placed.attached' : 'op.placed.opened', { id: caseId }), 'ok');
    // The card stays where it was, now showing its case, until the list is refreshed.
    const fresh = await api(`/api/opinions/${post.id}`);
    const index = state.posts.findIndex((p) => p.id === post.id);
    if (index >= 0) state.posts[index] = fresh;
    const old = $(`op-${post.id}`);
    if (old) {
      const next = card(fresh);
      old.replaceWith(next);
      next.querySelector('a.op-case')?.focus();
    }
  } catch (error) {
    submit.disabled = false;
    $('place-error').textContent = error.message || t('error.internal');
    $('place-error').hidden = false;
    showError(error);
    // Placed meanwhile by someone else: the list is stale.
    if (error.code === 'not_placeable') {
      closePlace();
      load();
    }
  }
}

// ---------------------------------------------------------------- start

function pick(decision, push = true) {
  state.decision = decision;
  for (const button of document.querySelectorAll('.op-segments button')) {
    button.setAttribute('aria-pressed', String(button.dataset.decision === decision));
  }
  if (push) {
    const url = new URL(location.href);
    if (decision === 'needs_place') url.searchParams.delete('decision');
    else url.searchParams.set('decision', decision || 'all');
    history.replaceState(null, '', url);
  }
  load();
}

async function start() {
  translatePage();
  const me = await requireSignIn(['dispatcher', 'commander', 'supervisor']);
  state.me = me;
  state.canPlace = me.role === 'dispatcher' || me.role === 'commander';
  topBar(me, 'opinions');
  document.title = `${t('app.name')} · ${t('op.title')}`;
  for (const button of document.querySelectorAll('.op-segments button')) {
    button.addEventListener('click', () => pick(button.dataset.decision));
  }
  $('op-refresh').addEventListener('click', () => load());
  $('op-more').addEventListener('click', () => {
    state.shown += SHOWN_STEP;
    render();
  });
  $('place-form').addEventListener('submit', submitPlace);
  $('place-cancel').addEventListener('click', closePlace);
  // Focus goes back to the button that opened the dialog (when it is still there).
  $('place-dialog').addEventListener('close', () => {
    if (place.opener?.isConnected) place.opener.focus();
  });
  const asked = new URLSearchParams(location.search).get('decision');
  const initial = asked === 'all' ? '' : DECISIONS.includes(asked) ? asked : 'needs_place';
  pick(initial, false);
}

start().catch(showError);
