// The report form shared by the grid worker's page and the citizen's page (photos with thumbnails,
// the position from the phone's GPS or a pin tapped on a small map, the text), plus the phone
// furniture both pages use: the bottom tab bar, photos fetched with the bearer token, a lightbox,
// the evidence of a case and the case list of all pages of a query.
import { addStrings, api, ApiFailure, districtMap, el, pinOnClickOrEnter, homeFor, lang, reference, requireSignIn, t, uiConfig } from '/ui/common.js';

addStrings({
  zh: {
    'rf.photos': '现场照片',
    'rf.photos_add': '拍照 / 选照片',
    'rf.photos_hint': '最多 {max} 张；可以不拍。',
    'rf.photos_full': '最多只能附 {max} 张照片。',
    'rf.photo_remove': '去掉这张照片',
    'rf.photo_alt': '照片',
    'rf.photo_open': '查看大图',
    'rf.photo_missing': '照片无法显示',
    'rf.position': '位置',
    'rf.locating': '正在获取手机定位…',
    'rf.located_gps': '已用手机定位（精度约 {m} 米）',
    'rf.located_pin': '已在地图上选定位置',
    'rf.locate_again': '重新定位',
    'rf.no_gps': '这台设备不能定位。请在下面的地图上点一下问题所在的位置。',
    'rf.gps_denied': '没有定位权限。请在下面的地图上点一下问题所在的位置。',
    'rf.gps_failed': '暂时无法定位。请在下面的地图上点一下问题所在的位置。',
    'rf.map_hint': '在地图上点一下，可以放置或移动位置标记；两指缩放地图。',
    'rf.map_label': '选择位置的地图：方向键移动地图，回车把位置标记放在地图中心',
    'rf.map_failed': '地图加载失败：{msg}',
    'rf.in_area': '位于：{name}',
    'rf.outside_mine': '这个位置不在您负责的网格内，请确认。',
    'rf.outside_district': '这个位置不在本区范围内，请在地图上重新选择。',
    'rf.address': '地址',
    'rf.address_placeholder': '例如：张贵庄第1社区 幸福里 3 号楼门口',
    'rf.address_hint': '没有定位时，写上所在的街道、社区或网格名称，点「按地址定位」，再在地图上点准位置。',
    'rf.address_locate': '按地址定位',
    'rf.located_address': '已按地址定位到「{name}」的中心（大致位置）；在地图上点一下可以改准。',
    'rf.address_unknown': '地址里没有本区的街道、社区或网格名称。请写上所在社区（例如「{example}」），或在地图上点选位置。',
    'rf.address_empty': '请先填写地址。',
    'rf.address_ambiguous': '本区有 {n} 个「{name}」（在{where}）。请在地址里写上所在街道，或在地图上点选位置。',
    'rf.category': '问题类别',
    'rf.category_auto': '自动识别（根据描述）',
    'rf.title': '标题',
    'rf.title_optional': '标题（可选）',
    'rf.title_hint': '不填时取描述的开头。',
    'rf.title_placeholder': '一句话说明问题',
    'rf.description': '问题描述',
    'rf.description_required': '问题描述（必填）',
    'rf.description_placeholder': '发生了什么、在哪里、影响了谁',
    'rf.submit': '上报',
    'rf.sending': '正在上报…',
    'rf.need_description': '请描述一下遇到的问题，再上报。',
    'rf.need_text': '请写一个标题或一段描述，再上报。',
    'rf.need_position': '还没有位置：请在地图上点一下问题所在的地方，或在地址里写上所在社区后点「按地址定位」。',
    'rf.tab_badge': '{n} 件',
    'rf.tabs': '页面分区',
  },
  en: {
    'rf.photos': 'Photos',
    'rf.photos_add': 'Take / choose photos',
    'rf.photos_hint': 'Up to {max}; optional.',
    'rf.photos_full': 'At most {max} photos can be attached.',
    'rf.photo_remove': 'Remove this photo',
    'rf.photo_alt': 'Photo',
    'rf.photo_open': 'Open the photo',
    'rf.photo_missing': 'Photo unavailable',
    'rf.position': 'Position',
    'rf.locating': 'Finding the phone’s position…',
    'rf.located_gps': 'Position from the phone (about {m} m accurate)',
    'rf.located_pin': 'Position chosen on the map',
    'rf.locate_again': 'Locate again',
    'rf.no_gps': 'This device cannot tell its position. Tap the map below where the problem is.',
    'rf.gps_denied': 'Location access is off. Tap the map below where the problem is.',
    'rf.gps_failed': 'The position cannot be found now. Tap the map below where the problem is.',
    'rf.map_hint': 'Tap the map to place or move the pin; pinch to zoom.',
    'rf.map_label': 'Map for choosing the position: arrow keys move the map, Enter puts the pin at its centre',
    'rf.map_failed': 'The map failed to load: {msg}',
    'rf.in_area': 'In: {name}',
    'rf.outside_mine': 'This point is outside your grid cells; please check.',
    'rf.outside_district': 'This point is outside the district; choose another one on the map.',
    'rf.address': 'Address',
    'rf.address_placeholder': 'e.g. Zhangguizhuang Community 1, Xingfuli, outside building 3',
    'rf.address_hint': 'Without a position, write the street, community or grid cell name, press “Find address”, then tap the map to be exact.',
    'rf.address_locate': 'Find address',
    'rf.located_address': 'Placed at the centre of “{name}” from the address (approximate); tap the map to be exact.',
    'rf.address_unknown': 'The address names no street, community or grid cell of the district. Write the community (e.g. “{example}”) or tap the map.',
    'rf.address_empty': 'Write the address first.',
    'rf.address_ambiguous': 'The district has {n} places called “{name}” (in {where}). Add the street to the address, or tap the map.',
    'rf.category': 'Category',
    'rf.category_auto': 'Detect from the description',
    'rf.title': 'Title',
    'rf.title_optional': 'Title (optional)',
    'rf.title_hint': 'Left empty, the start of the description is used.',
    'rf.title_placeholder': 'The problem in one line',
    'rf.description': 'Description',
    'rf.description_required': 'Description (required)',
    'rf.description_placeholder': 'What happened, where, who is affected',
    'rf.submit': 'Report',
    'rf.sending': 'Sending…',
    'rf.need_description': 'Describe the problem, then report.',
    'rf.need_text': 'Write a title or a description, then report.',
    'rf.need_position': 'There is no position yet: tap the map where the problem is, or write the community in the address and press “Find address”.',
    'rf.tab_badge': '{n}',
    'rf.tabs': 'Sections',
  },
});

export const MAX_PHOTOS = 9;

// The phone styles both pages share are in report-form.css, linked by worker.html and citizen.html.

// ---------------------------------------------------------------- icons (inline SVG, nothing fetched)

const ICONS = {
  camera: 'M4 8h3l2-3h6l2 3h3a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1zm8 3a4 4 0 1 0 0 8 4 4 0 0 0 0-8z',
  report: 'M12 3v12m-6-6h12M5 21h14',
  list: 'M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01',
  check: 'M4 12l5 5L20 6',
  search: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zm9 16l-4.2-4.2',
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7',
  locate: 'M12 2v3m0 14v3M2 12h3m14 0h3M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10z',
};

export function icon(name) {
  // Parsed as HTML, an <svg> lands in the SVG namespace by itself.
  const holder = document.createElement('span');
  holder.innerHTML = `<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="${ICONS[name] || ''}"/></svg>`;
  return holder.firstElementChild;
}

// ---------------------------------------------------------------- sign-in

/**
 * The signed-in account ({id, name, role, scope…}) when it has `role`; otherwise goes to the
 * account's own page. (/api/me answers {person, expires_at} and requireSignIn hands that on as it
 * is, so the person is unwrapped and the role checked here; this keeps working once requireSignIn
 * unwraps it itself.)
 */
export async function signedIn(role) {
  const answer = await requireSignIn();
  const me = answer?.person ?? answer;
  if (me?.role !== role) {
    location.href = homeFor(me?.role);
    return new Promise(() => {});
  }
  return me;
}

// ---------------------------------------------------------------- the bottom tab bar

/**
 * A tab bar at the bottom of the screen. `tabs`: [{key, label, icon, section}]; the sections are
 * shown one at a time; `onShow(key)` runs when a tab is shown. The choice is kept in the URL hash.
 */
export function tabBar(tabs, onShow) {
  const buttons = new Map();
  const nav = el('nav', { class: 'tabbar', 'aria-label': t('rf.tabs') });
  const row = el('div', { class: 'tabs', role: 'tablist' });
  nav.append(row);
  const show = (key, { focus = false } = {}) => {
    for (const tab of tabs) {
      const on = tab.key === key;
      tab.section.hidden = !on;
      const button = buttons.get(tab.key);
      button.setAttribute('aria-selected', on ? 'true' : 'false');
      button.tabIndex = on ? 0 : -1;
      if (on && focus) button.focus();
    }
    if (location.hash !== `#${key}`) history.replaceState(null, '', `#${key}`);
    window.scrollTo(0, 0);
    onShow?.(key);
  };
  tabs.forEach((tab, index) => {
    tab.section.setAttribute('role', 'tabpanel');
    tab.section.id ||= `panel-${tab.key}`;
    const button = el(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `tab-${tab.key}`,
        'aria-controls': tab.section.id,
        onclick: () => show(tab.key),
        onkeydown: (event) => {
          const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
          if (!step) return;
          event.preventDefault();
          show(tabs[(index + step + tabs.length) % tabs.length].key, { focus: true });
        },
      },
      icon(tab.icon),
      el('span', {}, tab.label),
      el('span', { class: 'count hidden', 'aria-hidden': 'true' }),
    );
    tab.section.setAttribute('aria-labelledby', button.id);
    buttons.set(tab.key, button);
    row.append(button);
  });
  document.body.append(nav);
  const wanted = location.hash.slice(1);
  return {
    show,
    start: () => show(tabs.some((tab) => tab.key === wanted) ? wanted : tabs[0].key),
    /** Shows a number on a tab (nothing when 0). */
    count(key, n) {
      const badge = buttons.get(key).querySelector('.count');
      badge.textContent = n > 99 ? '99+' : String(n);
      badge.classList.toggle('hidden', !n);
      buttons.get(key).setAttribute('aria-label', n ? `${tabs.find((x) => x.key === key).label} (${t('rf.tab_badge', { n })})` : tabs.find((x) => x.key === key).label);
    },
  };
}

// ---------------------------------------------------------------- photos

/** Makes a large phone photo small enough to send quickly (and under the 8 MB limit). */
async function shrink(file) {
  const big = file.size > 2.5 * 1024 * 1024;
  if (!big || !/^image\/(jpeg|png|webp)$/.test(file.type) || typeof createImageBitmap !== 'function') return file;
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, 2560 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close?.();
    const blob = await new Promise((done) => canvas.toBlob(done, 'image/jpeg', 0.85));
    if (!blob || blob.size >= file.size) return file;
    return new File([blob], `${file.name.replace(/\.[^.]+$/, '')}.jpg`, { type: 'image/jpeg' });
  } catch {
    return file;
  }
}

/**
 * A photo picker: a big "take / choose photos" button (a file input that opens the camera on
 * phones) and thumbnails that can be removed. Returns {node, files(), clear()}.
 */
export function photoPicker({ id, label = t('rf.photos'), hint = t('rf.photos_hint', { max: MAX_PHOTOS }), max = MAX_PHOTOS }) {
  let files = [];
  const thumbs = el('ul', { class: 'thumbs', 'aria-label': label });
  const message = el('span', { class: 'small muted', 'aria-live': 'polite' }, hint);
  const input = el('input', {
    type: 'file',
    id,
    name: 'photo',
    accept: 'image/*',
    capture: 'environment',
    multiple: true,
    class: 'visually-hidden',
  });
  const draw = () => {
    for (const img of thumbs.querySelectorAll('img')) URL.revokeObjectURL(img.src);
    thumbs.replaceChildren(
      ...files.map((file, index) =>
        el(
          'li',
          {},
          el('img', { src: URL.createObjectURL(file), alt: `${t('rf.photo_alt')} ${index + 1}` }),
          el(
            'button',
            {
              type: 'button',
              class: 'remove',
              'aria-label': `${t('rf.photo_remove')} (${index + 1})`,
              onclick: () => {
                files.splice(index, 1);
                draw();
                input.focus();
              },
            },
            el('span', { 'aria-hidden': 'true' }, '×'),
          ),
        ),
      ),
    );
  };
  input.addEventListener('change', () => {
    const chosen = [...input.files];
    input.value = '';
    const room = max - files.length;
    files = files.concat(chosen.slice(0, Math.max(0, room)));
    message.textContent = chosen.length > room ? t('rf.photos_full', { max }) : hint;
    message.classList.toggle('error-text', chosen.length > room);
    draw();
  });
  const node = el(
    'div',
    { class: 'field photo-picker' },
    el('span', { class: 'field-title', id: `${id}-title` }, label),
    el(
      'div',
      { class: 'add-row' },
      input,
      el('label', { for: id, class: 'add' }, icon('camera'), el('span', {}, t('rf.photos_add'))),
      message,
    ),
    thumbs,
  );
  return {
    node,
    input,
    files: () => files.slice(),
    clear() {
      files = [];
      message.textContent = hint;
      message.classList.remove('error-text');
      draw();
    },
  };
}

/** Uploads photos with POST /api/photos; resolves with their ids. */
export async function uploadPhotos(files) {
  if (!files.length) return [];
  const form = new FormData();
  for (const file of files) form.append('photo', await shrink(file), file.name || 'photo.jpg');
  const answer = await api('/api/photos', { method: 'POST', form });
  return answer.photos;
}

const photoUrls = new Map();

/** An object URL for a stored photo (fetched with the bearer token, once per page). */
export function photoUrl(id) {
  if (!photoUrls.has(id)) {
    photoUrls.set(
      id,
      api(`/api/photos/${encodeURIComponent(id)}`, { raw: true })
        .then((response) => response.blob())
        .then((blob) => URL.createObjectURL(blob)),
    );
  }
  return photoUrls.get(id);
}

let lightbox;
function openLightbox(id, alt) {
  if (!lightbox) {
    const img = el('img', { alt: '' });
    const close = el('button', { type: 'button', onclick: () => lightbox.close() }, t('common.close'));
    lightbox = el('dialog', { class: 'lightbox', onclick: (event) => event.target === lightbox && lightbox.close() }, el('div', { class: 'bar' }, close), img);
    lightbox.img = img;
    document.body.append(lightbox);
  }
  lightbox.img.alt = alt;
  lightbox.img.removeAttribute('src');
  photoUrl(id).then((url) => (lightbox.img.src = url)).catch(() => {});
  lightbox.showModal();
}

/** A thumbnail of a stored photo that opens it large when tapped. */
export function photoThumb(id, alt = t('rf.photo_alt')) {
  const img = el('img', { alt, 'data-photo': id });
  const button = el('button', { type: 'button', class: 'thumb', title: t('rf.photo_open'), onclick: () => openLightbox(id, alt) }, img);
  photoUrl(id)
    .then((url) => (img.src = url))
    .catch(() => button.replaceWith(el('span', { class: 'thumb missing' }, t('rf.photo_missing'))));
  return button;
}

export const isPhotoId = (item) => /^[0-9a-f]{64}$/i.test(item);

/** Evidence items: photo ids as thumbnails, anything else as a line of text. */
export function evidenceList(items) {
  return el(
    'div',
    { class: 'evidence' },
    items.map((item, index) =>
      isPhotoId(item) ? photoThumb(item, `${t('rf.photo_alt')} ${index + 1}`) : el('span', { class: 'text-item' }, item),
    ),
  );
}

// ---------------------------------------------------------------- lists

/** Every case of a list query (following the cursor), at most `cap` of them. */
export async function allCases(query = {}, cap = 2000) {
  const items = [];
  let after;
  while (items.length < cap) {
    const page = await api('/api/cases', { query: { ...query, limit: 500, after } });
    items.push(...page.items);
    if (!page.next_after) break;
    after = page.next_after;
  }
  return items;
}

/** The last handling event (feedback or self-settlement) of a case's history, or null. */
export function lastHandling(history) {
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const kind = history[i].kind;
    if (kind?.type === 'feedback_given' || kind?.type === 'self_settled') return history[i];
  }
  return null;
}

/** A title from the first words of a description. */
export function titleFrom(description) {
  const first = description.trim().split(/[。！？!?\n；;，,]/).find((part) => part.trim()) || description.trim();
  const chars = [...first.trim()];
  return chars.length > 30 ? `${chars.slice(0, 30).join('')}…` : chars.join('');
}

/** An API error as an inline sentence (with the server's detail when the sentence leaves it out). */
export function errorSentence(error) {
  if (!(error instanceof ApiFailure)) return el('span', {}, t('error.internal'));
  const detail = error.problem?.detail;
  const shown = detail && error.message.includes(detail);
  return el(
    'span',
    {},
    error.message,
    detail && !shown && error.status >= 400 && error.status < 500 ? el('span', { class: 'detail' }, t('error.detail', { detail })) : null,
  );
}

// ---------------------------------------------------------------- geometry

function ringContains(ring, [x, y]) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function polygonContains(rings, point) {
  return ringContains(rings[0], point) && !rings.slice(1).some((hole) => ringContains(hole, point));
}

/** The feature (Polygon or MultiPolygon) that holds [lon, lat], or null. */
export function featureAt(features, point) {
  return (
    features.find((feature) => {
      const geometry = feature.geometry;
      if (!geometry) return false;
      if (geometry.type === 'Polygon') return polygonContains(geometry.coordinates, point);
      if (geometry.type === 'MultiPolygon') return geometry.coordinates.some((rings) => polygonContains(rings, point));
      return false;
    }) || null
  );
}

/** An area's name as people write it: without a note such as the demo's 「（生成）」. */
export function bareName(name) {
  return String(name || '').replace(/\s*[（(][^（）()]*[）)]\s*$/, '');
}

/**
 * The district's area the address names: the most precise area (a cell over a community over a
 * street) whose name the address contains, the longest name first (「第1社区」 is inside
 * 「张贵庄第1社区」). Names repeat across streets (幸福社区): then the one whose street (or
 * community) the address also names; if that does not decide, `{ambiguous: [areas]}`. Null when the
 * address names no area. There is no geocoder for house numbers on a district's closed network; the
 * names of its own areas are what every resident's address holds.
 */
export function areaNamedIn(areas, address) {
  const text = String(address || '').replace(/\s+/g, '');
  if (!text) return null;
  const rank = { cell: 0, community: 1, street: 2 };
  const byCode = new Map(areas.map((area) => [area.code, area]));
  let found = [];
  for (const area of areas) {
    const name = bareName(area.name);
    if (!(area.level in rank) || name.length < 2 || !text.includes(name)) continue;
    const best = found[0];
    const better = !best || rank[area.level] < rank[best.level] || (rank[area.level] === rank[best.level] && name.length > bareName(best.name).length);
    if (better) found = [area];
    else if (rank[area.level] === rank[best.level] && name === bareName(best.name)) found.push(area);
  }
  if (found.length <= 1) return found[0] || null;
  const ancestorsNamed = (area) => {
    let n = 0;
    for (let up = byCode.get(area.parent); up; up = byCode.get(up.parent)) if (up.level !== 'district' && text.includes(bareName(up.name))) n += 1;
    return n;
  };
  const most = Math.max(...found.map(ancestorsNamed));
  const kept = found.filter((area) => ancestorsNamed(area) === most);
  return kept.length === 1 ? kept[0] : { ambiguous: kept };
}

/** A point well inside a polygon feature: its bounds' centre if inside, else the inside point of a
 *  coarse grid nearest to that centre (an L-shaped community's centre may lie outside it). */
export function pointInsideFeature(feature) {
  const bounds = L.geoJSON(feature).getBounds();
  const centre = bounds.getCenter();
  const inside = (lon, lat) => Boolean(featureAt([feature], [lon, lat]));
  if (inside(centre.lng, centre.lat)) return { lon: centre.lng, lat: centre.lat };
  let best = null;
  const n = 24;
  for (let i = 1; i < n; i += 1) {
    for (let j = 1; j < n; j += 1) {
      const lon = bounds.getWest() + ((bounds.getEast() - bounds.getWest()) * i) / n;
      const lat = bounds.getSouth() + ((bounds.getNorth() - bounds.getSouth()) * j) / n;
      if (!inside(lon, lat)) continue;
      const d = (lon - centre.lng) ** 2 + (lat - centre.lat) ** 2;
      if (!best || d < best.d) best = { lon, lat, d };
    }
  }
  return best && { lon: best.lon, lat: best.lat };
}

// ---------------------------------------------------------------- the report form

/**
 * Builds the report form into `form` (an empty <form>).
 * options: {me, variant: 'worker' | 'citizen', onReported(outcome, request)}.
 * The worker's map shows their grid cells and the form has a category; the citizen's map shows the
 * district's streets, the form has an address, and the description is required.
 * Returns {refresh()} (call it when the form's section becomes visible: the map needs its size).
 */
export function reportForm(form, { me, variant, onReported }) {
  const worker = variant === 'worker';
  form.classList.add('report');
  form.noValidate = true;

  const photos = photoPicker({ id: 'report-photo' });

  // Position: GPS first, else (or to correct it) a pin tapped on the map.
  let position = null; // {lon, lat, source: 'gps' | 'pin' | 'address', accuracy, area}
  let features = [];
  let map;
  let marker;
  let accuracyCircle;
  const statusText = el('span', { class: 'text', id: 'report-position-status' }, t('rf.locating'));
  const again = el(
    'button',
    { type: 'button', class: 'link', onclick: () => locate() },
    icon('locate'),
    t('rf.locate_again'),
  );
  const status = el('div', { class: 'position-status', role: 'status' }, statusText, again);
  const mapBox = el('div', { class: 'pin-map', id: 'report-map', 'aria-label': t('rf.map_label') });
  const placeLine = el('p', { class: 'place-line', id: 'report-place', 'aria-live': 'polite' });
  const setStatus = (text, kind) => {
    statusText.textContent = text;
    status.className = `position-status ${kind || ''}`;
  };

  const describePlace = () => {
    if (!position) {
      placeLine.textContent = '';
      return;
    }
    const found = featureAt(features, [position.lon, position.lat]);
    placeLine.classList.toggle('warn', !found && features.length > 0);
    if (found) placeLine.textContent = t('rf.in_area', { name: found.properties?.name || found.properties?.code });
    else if (features.length) placeLine.textContent = worker ? t('rf.outside_mine') : t('rf.outside_district');
    else placeLine.textContent = '';
  };

  const placePin = () => {
    if (!map || !position) return;
    const latlng = [position.lat, position.lon];
    if (!marker) marker = L.marker(latlng, { keyboard: false, title: t('rf.position') }).addTo(map);
    else marker.setLatLng(latlng);
    accuracyCircle?.remove();
    accuracyCircle = null;
    if (position.source === 'gps' && position.accuracy && position.accuracy < 1000) {
      accuracyCircle = L.circle(latlng, { radius: position.accuracy, weight: 1, color: '#0b4f8a', fillOpacity: 0.08, interactive: false }).addTo(map);
    }
  };

  const setPosition = (next) => {
    position = next;
    if (next.source === 'gps') setStatus(t('rf.located_gps', { m: Math.round(next.accuracy || 0) }), 'ok');
    else if (next.source === 'address') setStatus(t('rf.located_address', { name: next.area }), 'ok');
    else setStatus(t('rf.located_pin'), 'ok');
    placePin();
    describePlace();
  };

  // Frames the map around the position: close up over tiles; without tiles (the grid is the map),
  // the outline holding the point, or the whole area with the point when it is outside.
  let outlines;
  let tiles = false;
  const frame = () => {
    if (!map) return;
    if (!position) {
      if (outlines && features.length) map.fitBounds(outlines.getBounds(), { padding: [6, 6] });
      return;
    }
    const here = L.latLng(position.lat, position.lon);
    const found = featureAt(features, [position.lon, position.lat]);
    if (tiles) map.setView(here, 17);
    else if (found) map.fitBounds(L.geoJSON(found).getBounds().extend(here), { padding: [16, 16], maxZoom: 17 });
    else if (outlines && features.length) map.fitBounds(outlines.getBounds().extend(here), { padding: [16, 16] });
    else map.setView(here, 15);
  };

  function locate() {
    if (!('geolocation' in navigator)) {
      again.hidden = true;
      setStatus(t('rf.no_gps'), 'need');
      return;
    }
    setStatus(t('rf.locating'), '');
    navigator.geolocation.getCurrentPosition(
      (answer) => {
        setPosition({
          lon: answer.coords.longitude,
          lat: answer.coords.latitude,
          accuracy: answer.coords.accuracy,
          source: 'gps',
        });
        frame();
      },
      (error) => {
        // A pin already placed stays; otherwise ask for one.
        if (position) return setStatus(position.source === 'gps' ? t('rf.located_gps', { m: Math.round(position.accuracy || 0) }) : t('rf.located_pin'), 'ok');
        setStatus(error.code === 1 ? t('rf.gps_denied') : t('rf.gps_failed'), 'need');
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  async function buildMap() {
    try {
      const config = await uiConfig();
      map = districtMap(mapBox, config);
      tiles = Boolean(config.tile_url);
      const layer = await api(worker ? '/api/grid/cell' : '/api/grid/street');
      features = layer.features || [];
      if (worker && me.scope?.areas?.length) {
        features = features.filter((f) => me.scope.areas.some((area) => String(f.properties?.code || '').startsWith(area)));
      }
      outlines = L.geoJSON(
        { type: 'FeatureCollection', features },
        {
          interactive: false,
          style: { color: '#0b4f8a', weight: worker ? 1.5 : 1.2, opacity: 0.8, fillColor: '#0b4f8a', fillOpacity: 0.06 },
        },
      ).addTo(map);
      if (position || features.length) frame();
      else map.setView([39.09, 117.33], 12);
      pinOnClickOrEnter(map, (lon, lat) => setPosition({ lon, lat, source: 'pin' }));
      placePin();
      describePlace();
    } catch (error) {
      mapBox.replaceChildren(el('p', { class: 'error-text', style: { padding: '0.75rem' } }, t('rf.map_failed', { msg: error.message })));
    }
  }

  // Category (grid workers): optional, the server suggests one from the text.
  let category;
  if (worker) {
    category = el('select', { id: 'report-category' }, el('option', { value: '' }, t('rf.category_auto')));
    form.categorySelect = category;
  }

  const title = el('input', {
    type: 'text',
    id: 'report-title',
    maxlength: 200,
    placeholder: t('rf.title_placeholder'),
    autocomplete: 'off',
    enterkeyhint: 'next',
  });
  const description = el('textarea', {
    id: 'report-description',
    rows: 4,
    maxlength: 5000,
    placeholder: t('rf.description_placeholder'),
    required: !worker,
    'aria-required': worker ? null : 'true',
  });
  const address = worker ? null : el('input', { type: 'text', id: 'report-address', maxlength: 200, placeholder: t('rf.address_placeholder'), autocomplete: 'street-address' });
  const addressNote = el('p', { class: 'hint', id: 'report-address-note', 'aria-live': 'polite' }, t('rf.address_hint'));
  const layers = new Map(); // level → features, read once
  /** Places the pin at the centre of the area the address names; false (and says why) if none. */
  async function locateAddress() {
    const text = address.value.trim();
    if (!text) {
      addressNote.textContent = t('rf.address_empty');
      addressNote.classList.add('warn');
      address.focus();
      return false;
    }
    const ref = await reference();
    const area = areaNamedIn(ref.areas, text);
    if (!area) {
      const example = bareName(ref.areas.find((a) => a.level === 'community')?.name);
      addressNote.textContent = t('rf.address_unknown', { example });
      addressNote.classList.add('warn');
      return false;
    }
    if (area.ambiguous) {
      const names = new Map(ref.areas.map((a) => [a.code, bareName(a.name)]));
      const where = area.ambiguous.map((a) => names.get(a.code.slice(0, 9)) || a.code).join(lang() === 'en' ? ', ' : '、');
      addressNote.textContent = t('rf.address_ambiguous', { name: bareName(area.ambiguous[0].name), n: area.ambiguous.length, where });
      addressNote.classList.add('warn');
      return false;
    }
    if (!layers.has(area.level)) layers.set(area.level, (await api(`/api/grid/${area.level}`)).features || []);
    const feature = layers.get(area.level).find((f) => f.properties?.code === area.code);
    const point = feature && pointInsideFeature(feature);
    if (!point) {
      addressNote.textContent = t('rf.address_unknown', { example: area.name });
      addressNote.classList.add('warn');
      return false;
    }
    addressNote.textContent = t('rf.address_hint');
    addressNote.classList.remove('warn');
    setPosition({ ...point, source: 'address', area: area.name });
    if (map) map.fitBounds(L.geoJSON(feature).getBounds(), { padding: [12, 12], maxZoom: 17 });
    return true;
  }
  const addressButton = worker
    ? null
    : el('button', { type: 'button', id: 'report-address-locate', onclick: () => locateAddress().catch((error) => say(errorSentence(error))) }, icon('locate'), t('rf.address_locate'));
  address?.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault(); // Enter in the address finds it rather than sending the report
    locateAddress().catch((error) => say(errorSentence(error)));
  });
  const errorBox = el('p', { class: 'error-text form-error', id: 'report-error', role: 'alert' });
  const submit = el('button', { type: 'submit', class: 'primary big', id: 'report-submit' }, t('rf.submit'));

  const descriptionField = el(
    'div',
    { class: 'field' },
    el('label', { for: 'report-description' }, worker ? t('rf.description') : t('rf.description_required')),
    description,
  );
  const titleField = el(
    'div',
    { class: 'field' },
    el('label', { for: 'report-title' }, worker ? t('rf.title') : t('rf.title_optional')),
    title,
    el('p', { class: 'hint' }, t('rf.title_hint')),
  );
  form.replaceChildren(
    ...[
    photos.node,
    el(
      'fieldset',
      { class: 'position' },
      el('legend', {}, t('rf.position')),
      status,
      mapBox,
      placeLine,
      el('p', { class: 'hint small muted', style: { margin: '0.15rem 0 0' } }, t('rf.map_hint')),
    ),
    address
      ? el('div', { class: 'field' }, el('label', { for: 'report-address' }, t('rf.address')), el('div', { class: 'address-row' }, address, addressButton), addressNote)
      : null,
    category ? el('div', { class: 'field' }, el('label', { for: 'report-category' }, t('rf.category')), category) : null,
    // The citizen describes first (required); the worker names the problem first.
    worker ? titleField : descriptionField,
    worker ? descriptionField : titleField,
    errorBox,
    submit,
    ].filter(Boolean),
  );

  if (worker) {
    reference()
      .then((ref) => {
        const groups = new Map();
        for (const c of ref.categories) {
          if (!groups.has(c.major_name)) groups.set(c.major_name, el('optgroup', { label: c.major_name }));
          groups.get(c.major_name).append(el('option', { value: c.code }, `${c.name}`));
        }
        category.append(...groups.values());
      })
      .catch(() => {});
  }

  const say = (content) => errorBox.replaceChildren(content);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorBox.replaceChildren();
    const text = description.value.trim();
    let heading = title.value.trim();
    if (!worker && !text) {
      say(t('rf.need_description'));
      description.focus();
      return;
    }
    if (worker && !text && !heading) {
      say(t('rf.need_text'));
      title.focus();
      return;
    }
    // No GPS and no pin: the address may name the place.
    if (!position && address?.value.trim()) await locateAddress().catch(() => false);
    if (!position) {
      say(t('rf.need_position'));
      mapBox.scrollIntoView({ block: 'nearest' });
      return;
    }
    if (!heading) heading = titleFrom(text);
    const request = {
      title: heading,
      description: text,
      location: { lon: position.lon, lat: position.lat, crs: 'wgs84' },
    };
    if (category?.value) request.category = category.value;
    if (address?.value.trim()) request.address = address.value.trim();
    submit.disabled = true;
    submit.textContent = t('rf.sending');
    try {
      const body = new FormData();
      body.append('report', JSON.stringify(request));
      for (const file of photos.files()) body.append('photo', await shrink(file), file.name || 'photo.jpg');
      const outcome = await api('/api/cases/upload', { method: 'POST', form: body });
      photos.clear();
      title.value = '';
      description.value = '';
      if (address) address.value = '';
      if (category) category.value = '';
      await onReported?.(outcome, request);
    } catch (error) {
      say(errorSentence(error));
      errorBox.scrollIntoView({ block: 'nearest' });
    } finally {
      submit.disabled = false;
      submit.textContent = t('rf.submit');
    }
  });

  buildMap();
  locate();

  return {
    refresh: () => map?.invalidateSize(),
    get position() {
      return position;
    },
  };
}

