// 网格员 (grid worker) page, for phones first: 巡查上报 (report with photos and the phone's position,
// or a pin on a map of the worker's cells), 自处置 in two taps, the open cases of my cells, and my
// verification tasks (核查通过 / 不通过).
import {
  addStrings,
  api,
  caseColour,
  el,
  fmtDeadline,
  fmtSpan,
  fmtTime,
  reference,
  showError,
  stateName,
  t,
  toast,
  topBar,
  translatePage,
} from '/ui/common.js';
import {
  allCases,
  errorSentence,
  evidenceList,
  lastHandling,
  photoPicker,
  reportForm,
  signedIn,
  tabBar,
  uploadPhotos,
} from '/ui/report-form.js';

addStrings({
  zh: {
    'wk.tab_report': '上报',
    'wk.tab_open': '我的网格',
    'wk.tab_verify': '核查',
    'wk.report_heading': '巡查上报',
    'wk.open_heading': '我的网格',
    'wk.verify_heading': '我的核查任务',
    'wk.verify_intro': '处置部门反馈已办完的案件，请到现场看过后核查。',
    'wk.reported': '已上报',
    'wk.case_no': '案件编号',
    'wk.cell': '所在网格',
    'wk.category': '类别',
    'wk.category_chosen': '您选择的',
    'wk.category_suggested': '系统根据描述识别，把握 {p}%',
    'wk.category_suggested_plain': '系统根据描述识别',
    'wk.tier': '处置层级',
    'wk.tier_reason': '升级原因',
    'wk.state': '状态',
    'wk.photos_sent': '照片',
    'wk.photos_n': '{n} 张',
    'wk.merged': '同一件事已有人上报，这次上报已自动合并到案件 #{id}。',
    'wk.duplicates': '可能重复的案件',
    'wk.duplicates_hint': '附近最近有相似的上报；受理员会决定是否合并。',
    'wk.duplicate_line': '#{id} · 相似度 {p}%',
    'wk.duplicate_distance': ' · 相距 {m} 米',
    'wk.duplicate_hours': ' · 相隔 {h}',
    'wk.settle': '当场解决（自处置）',
    'wk.report_another': '继续上报',
    'wk.settle_title': '当场解决 · 案件 #{id}',
    'wk.settle_intro': '确认后案件进入核查，由其他人核查后结案。',
    'wk.settle_note': '处置说明',
    'wk.settle_note_default': '网格员已现场处置完毕。',
    'wk.settle_photos': '处置后照片（可选）',
    'wk.settle_photos_hint': '拍一张处置后的照片作证据，可以不拍。',
    'wk.settle_confirm': '确认已解决',
    'wk.settling': '正在提交…',
    'wk.settled': '案件 #{id} 已自处置，等待核查。',
    'wk.settled_line': '已当场解决，等待核查。',
    'wk.open_summary': '{area} · 待处理 {n} 件（不含待核查）',
    'wk.open_empty': '您的网格里现在没有待处理的案件。',
    'wk.verify_empty': '现在没有等您核查的案件。',
    'wk.no_deadline': '无时限',
    'wk.reported_at': '上报时间',
    'wk.address': '地址',
    'wk.handler': '处置方',
    'wk.handler_grid': '网格员自处置',
    'wk.handler_none': '尚未派遣',
    'wk.reason': '说明',
    'wk.report_photos': '上报照片',
    'wk.feedback_at': '反馈时间',
    'wk.feedback_note': '处置说明',
    'wk.evidence': '处置证据',
    'wk.before': '上报时的照片',
    'wk.verify_note': '核查意见（不通过时必填）',
    'wk.verify_note_placeholder': '例如：已到现场查看，问题已解决',
    'wk.verify_pass': '核查通过',
    'wk.verify_fail': '核查不通过',
    'wk.verify_need_note': '核查不通过时，请写明哪里还没有解决。',
    'wk.verified': '案件 #{id} 核查通过。',
    'wk.verify_failed': '案件 #{id} 核查不通过，已退回重新处置。',
    'wk.verify_not_mine': '这件事是您自己处置的，需要由其他人核查。',
    'wk.others_heading': '等待他人核查',
    'wk.load_failed': '没能加载：{msg}',
  },
  en: {
    'wk.tab_report': 'Report',
    'wk.tab_open': 'My cells',
    'wk.tab_verify': 'Verify',
    'wk.report_heading': 'Patrol report',
    'wk.open_heading': 'My cells',
    'wk.verify_heading': 'My verification tasks',
    'wk.verify_intro': 'Departments say these cases are done. Check on the spot, then verify.',
    'wk.reported': 'Reported',
    'wk.case_no': 'Case number',
    'wk.cell': 'Grid cell',
    'wk.category': 'Category',
    'wk.category_chosen': 'your choice',
    'wk.category_suggested': 'suggested from the text, {p}% sure',
    'wk.category_suggested_plain': 'suggested from the text',
    'wk.tier': 'Tier',
    'wk.tier_reason': 'Raised because',
    'wk.state': 'State',
    'wk.photos_sent': 'Photos',
    'wk.photos_n': '{n}',
    'wk.merged': 'The same matter was already reported: this report was merged into case #{id}.',
    'wk.duplicates': 'Possible duplicates',
    'wk.duplicates_hint': 'Similar reports nearby; the dispatcher decides whether to merge.',
    'wk.duplicate_line': '#{id} · {p}% similar',
    'wk.duplicate_distance': ' · {m} m away',
    'wk.duplicate_hours': ' · {h} apart',
    'wk.settle': 'Settled on the spot',
    'wk.report_another': 'Report another',
    'wk.settle_title': 'Settle on the spot · case #{id}',
    'wk.settle_intro': 'Once confirmed the case goes to verification by someone else, then closes.',
    'wk.settle_note': 'What was done',
    'wk.settle_note_default': 'Settled on the spot by the grid worker.',
    'wk.settle_photos': 'Photo after (optional)',
    'wk.settle_photos_hint': 'A photo of the result as evidence; optional.',
    'wk.settle_confirm': 'Confirm settled',
    'wk.settling': 'Sending…',
    'wk.settled': 'Case #{id} settled on the spot; awaiting verification.',
    'wk.settled_line': 'Settled on the spot; awaiting verification.',
    'wk.open_summary': '{area} · {n} open (not counting those awaiting verification)',
    'wk.open_empty': 'No open cases in your cells right now.',
    'wk.verify_empty': 'Nothing is waiting for your verification.',
    'wk.no_deadline': 'No deadline',
    'wk.reported_at': 'Reported',
    'wk.address': 'Address',
    'wk.handler': 'Handled by',
    'wk.handler_grid': 'Grid worker (on the spot)',
    'wk.handler_none': 'Not dispatched yet',
    'wk.reason': 'Note',
    'wk.report_photos': 'Photos',
    'wk.feedback_at': 'Reported done',
    'wk.feedback_note': 'What was done',
    'wk.evidence': 'Evidence',
    'wk.before': 'Photos when reported',
    'wk.verify_note': 'Verification note (required when not passing)',
    'wk.verify_note_placeholder': 'e.g. Checked on the spot: it is fixed',
    'wk.verify_pass': 'Passed',
    'wk.verify_fail': 'Not passed',
    'wk.verify_need_note': 'When it does not pass, say what is still wrong.',
    'wk.verified': 'Case #{id} passed verification.',
    'wk.verify_failed': 'Case #{id} did not pass; it goes back for rework.',
    'wk.verify_not_mine': 'You settled this yourself, so someone else must verify it.',
    'wk.others_heading': 'Waiting for someone else',
    'wk.load_failed': 'Could not load: {msg}',
  },
});

const OPEN_STATES = ['reported', 'accepted', 'handling', 'long_term'];
const COLOUR_RANK = { red: 0, yellow: 1, green: 2, none: 3 };

const me = await signedIn('grid_worker');
topBar(me, 'worker');
translatePage();

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- report and its outcome

const report = reportForm($('report-form'), { me, variant: 'worker', onReported: showOutcome });

/** The state, and the running deadline as a badge in its colour ("超期 2 天", "临期 · 剩 3 小时"). */
function deadlineBadges(item) {
  const colour = caseColour(item);
  let deadline = el('span', { class: 'badge none' }, t('wk.no_deadline'));
  if (item.deadline) {
    const text = fmtDeadline(item.deadline);
    deadline = el(
      'span',
      { class: `badge deadline ${colour}`, title: colour === 'none' ? null : t(`colour.${colour}`) },
      colour === 'yellow' ? `${t('colour.yellow')} · ${text}` : text,
    );
  }
  return [el('span', { class: 'badge state' }, stateName(item.state)), deadline];
}

async function showOutcome(outcome, request) {
  const item = outcome.case;
  const suggestion = outcome.suggestion;
  const chosenByServer = !request.category;
  let categoryNote = t('wk.category_chosen');
  if (chosenByServer) {
    categoryNote = suggestion?.confidence
      ? t('wk.category_suggested', { p: Math.round(suggestion.confidence * 100) })
      : t('wk.category_suggested_plain');
  }
  const actions = el(
    'div',
    { class: 'actions-row' },
    el('button', { type: 'button', id: 'report-another', onclick: reportAnother }, t('wk.report_another')),
  );
  const box = $('outcome');
  box.replaceChildren(
    ...[
    el('h2', { class: 'outcome-title' }, '✓ ', t('wk.reported')),
    el('p', { class: 'case-number' }, el('span', {}, t('wk.case_no')), el('strong', { id: 'outcome-case' }, `#${item.id}`)),
    outcome.merged_into ? el('p', { class: 'notice' }, t('wk.merged', { id: outcome.merged_into })) : null,
    el(
      'dl',
      { class: 'kv' },
      el('dt', {}, t('wk.cell')),
      el('dd', { id: 'outcome-cell' }, item.cell_name || item.cell, el('span', { class: 'muted small sub' }, item.cell)),
      el('dt', {}, t('wk.category')),
      el('dd', { id: 'outcome-category' }, item.category_name || item.category, el('span', { class: 'muted small sub' }, categoryNote)),
      el('dt', {}, t('wk.tier')),
      el('dd', {}, t(`tier.${item.tier}`)),
      outcome.tier_reason ? [el('dt', {}, t('wk.tier_reason')), el('dd', {}, outcome.tier_reason)] : null,
      el('dt', {}, t('wk.state')),
      el('dd', { id: 'outcome-state' }, el('span', { class: 'badge state' }, stateName(item.state))),
      item.photos.length ? [el('dt', {}, t('wk.photos_sent')), el('dd', {}, t('wk.photos_n', { n: item.photos.length }))] : null,
    ),
    outcome.duplicates?.length
      ? el(
          'div',
          { class: 'duplicates', id: 'outcome-duplicates' },
          el('h3', {}, t('wk.duplicates')),
          el('p', { class: 'small muted' }, t('wk.duplicates_hint')),
          el(
            'ul',
            {},
            outcome.duplicates.map((d) =>
              el(
                'li',
                {},
                t('wk.duplicate_line', { id: d.id, p: Math.round(d.similarity * 100) }),
                d.distance_m != null ? t('wk.duplicate_distance', { m: Math.round(d.distance_m) }) : '',
                d.hours_apart * 60 >= 1 ? t('wk.duplicate_hours', { h: fmtSpan(d.hours_apart * 3600000) }) : '',
              ),
            ),
          ),
        )
      : null,
    actions,
    ].filter(Boolean),
  );
  $('report-area').hidden = true;
  box.hidden = false;
  window.scrollTo(0, 0);
  box.focus({ preventScroll: true });
  refreshCounts();
  // 自处置 is offered when the rules allow it for this case now.
  try {
    const detail = await api(`/api/cases/${item.id}`);
    if (detail.allowed_commands.includes('self_settle')) {
      actions.prepend(
        el(
          'button',
          {
            type: 'button',
            class: 'ok',
            id: 'outcome-settle',
            onclick: () =>
              openSettle(detail.case, (view) => {
                $('outcome-settle')?.remove();
                $('outcome-state').replaceChildren(el('span', { class: 'badge state' }, stateName(view.state)), ' ', t('wk.settled_line'));
              }),
          },
          t('wk.settle'),
        ),
      );
    }
  } catch (error) {
    showError(error);
  }
}

function reportAnother() {
  $('outcome').hidden = true;
  $('report-area').hidden = false;
  report.refresh();
  $('report-title').focus();
}

// ---------------------------------------------------------------- 自处置

const settlePhotos = photoPicker({ id: 'settle-photo', label: t('wk.settle_photos'), hint: t('wk.settle_photos_hint') });
$('settle-photos').replaceWith(settlePhotos.node);
let settling = null;

function openSettle(item, done) {
  settling = { item, done };
  $('settle-title').textContent = t('wk.settle_title', { id: item.id });
  $('settle-note').value = t('wk.settle_note_default');
  $('settle-error').replaceChildren();
  settlePhotos.clear();
  $('settle-dialog').showModal();
  $('settle-confirm').focus();
}

$('settle-cancel').addEventListener('click', () => $('settle-dialog').close());
$('settle-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!settling) return;
  const { item, done } = settling;
  const confirm = $('settle-confirm');
  const note = $('settle-note').value.trim() || t('wk.settle_note_default');
  confirm.disabled = true;
  confirm.textContent = t('wk.settling');
  try {
    const photos = await uploadPhotos(settlePhotos.files());
    // Evidence is a photo or a description: without a photo, the note says what was done.
    const evidence = photos.length ? photos : [note];
    const view = await api(`/api/cases/${item.id}/commands`, {
      method: 'POST',
      query: { expected_version: item.version },
      body: { command: 'self_settle', evidence, note },
    });
    $('settle-dialog').close();
    settling = null;
    toast(t('wk.settled', { id: item.id }), 'ok');
    done?.(view);
    loadOpen();
    loadVerify();
  } catch (error) {
    $('settle-error').replaceChildren(errorSentence(error));
  } finally {
    confirm.disabled = false;
    confirm.textContent = t('wk.settle_confirm');
  }
});

// ---------------------------------------------------------------- my cells: open cases

function byUrgency(a, b) {
  const rank = COLOUR_RANK[caseColour(a)] - COLOUR_RANK[caseColour(b)];
  if (rank) return rank;
  const due = (x) => (x.deadline ? new Date(x.deadline.due_at).getTime() : Infinity);
  return due(a) - due(b) || b.id - a.id;
}

function caseHead(item, attrs = {}) {
  return el(
    attrs.static ? 'div' : 'button',
    { class: 'case-head', type: attrs.static ? null : 'button', ...attrs, static: null },
    el(
      'span',
      { class: 'line1' },
      el('span', { class: 'no' }, `#${item.id}`),
      el('span', { class: 'title' }, item.title),
      attrs.static ? null : el('span', { class: 'chev', 'aria-hidden': 'true' }, '▾'),
    ),
    el('span', { class: 'meta' }, deadlineBadges(item)),
    el('span', { class: 'meta' }, [item.cell_name || item.cell, item.category_name].filter(Boolean).join(' · ')),
  );
}

async function fillOpenBody(body, item) {
  body.replaceChildren(el('p', { class: 'loading' }, t('common.loading')));
  let detail;
  try {
    detail = await api(`/api/cases/${item.id}`);
  } catch (error) {
    body.replaceChildren(el('p', { class: 'error-text' }, errorSentence(error)));
    return;
  }
  const c = detail.case;
  const handler = c.handler === 'grid' ? t('wk.handler_grid') : c.department_name || t('wk.handler_none');
  body.replaceChildren(
    c.description ? el('p', { class: 'description' }, c.description) : null,
    el(
      'dl',
      { class: 'kv' },
      el('dt', {}, t('wk.reported_at')),
      el('dd', {}, fmtTime(c.reported_at), ' · ', t(`channel.${c.channel}`)),
      c.address ? [el('dt', {}, t('wk.address')), el('dd', {}, c.address)] : null,
      el('dt', {}, t('wk.handler')),
      el('dd', {}, handler),
      c.reason ? [el('dt', {}, t('wk.reason')), el('dd', {}, c.reason)] : null,
    ),
    c.photos.length ? el('div', {}, el('p', { class: 'field-title' }, t('wk.report_photos')), evidenceList(c.photos)) : null,
    detail.allowed_commands.includes('self_settle')
      ? el(
          'div',
          { class: 'actions-row' },
          el(
            'button',
            { type: 'button', class: 'ok', 'data-settle': c.id, onclick: () => openSettle(c, () => {}) },
            t('wk.settle'),
          ),
        )
      : null,
  );
}

function openCard(item) {
  const body = el('div', { class: 'case-body', hidden: true, id: `open-body-${item.id}` });
  const head = caseHead(item, {
    'aria-expanded': 'false',
    'aria-controls': body.id,
    onclick: () => {
      const opening = body.hidden;
      body.hidden = !opening;
      head.setAttribute('aria-expanded', String(opening));
      if (opening) fillOpenBody(body, item);
    },
  });
  return el('li', { class: `case-card c-${caseColour(item)}`, 'data-case': item.id }, head, body);
}

let openLoad = null;
function loadOpen() {
  openLoad ??= (async () => {
    const list = $('open-list');
    if (!list.children.length) list.replaceChildren(el('li', { class: 'loading' }, t('common.loading')));
    try {
      const pages = await Promise.all(OPEN_STATES.map((state) => allCases({ state })));
      const items = pages.flat().sort(byUrgency);
      const ref = await reference();
      const area = me.scope.areas.map((code) => ref.areaByCode.get(code)?.name || code).join('、');
      $('open-summary').textContent = t('wk.open_summary', { area, n: items.length });
      tabs.count('open', items.length);
      list.replaceChildren(...(items.length ? items.map(openCard) : [el('li', { class: 'empty' }, t('wk.open_empty'))]));
    } catch (error) {
      list.replaceChildren(el('li', { class: 'error-text' }, t('wk.load_failed', { msg: error.message })));
    } finally {
      openLoad = null;
    }
  })();
  return openLoad;
}

// ---------------------------------------------------------------- verification tasks

function verifyCard(detail) {
  const c = detail.case;
  const handling = lastHandling(detail.history);
  const kind = handling?.kind || {};
  const mayVerify = detail.allowed_commands.includes('verify');
  const noteId = `verify-note-${c.id}`;
  const note = el('textarea', { id: noteId, rows: 2, maxlength: 5000, placeholder: t('wk.verify_note_placeholder') });
  const error = el('p', { class: 'error-text form-error', role: 'alert' });
  const li = el('li', { class: `case-card verify-card c-${caseColour(c)}`, 'data-case': c.id });
  const decide = async (passed, button) => {
    error.replaceChildren();
    const text = note.value.trim();
    if (!passed && !text) {
      error.textContent = t('wk.verify_need_note');
      note.focus();
      return;
    }
    for (const b of li.querySelectorAll('.verify-actions button')) b.disabled = true;
    try {
      await api(`/api/cases/${c.id}/commands`, {
        method: 'POST',
        query: { expected_version: c.version },
        body: { command: 'verify', passed, note: text },
      });
      toast(t(passed ? 'wk.verified' : 'wk.verify_failed', { id: c.id }), 'ok');
      li.remove();
      loadVerify();
      if (!passed) loadOpen();
    } catch (failure) {
      error.replaceChildren(errorSentence(failure));
      for (const b of li.querySelectorAll('.verify-actions button')) b.disabled = false;
      button.focus();
    }
  };
  const handler = c.handler === 'grid' ? t('wk.handler_grid') : c.department_name || t('wk.handler_none');
  li.append(
    caseHead(c, { static: true }),
    el(
      'div',
      { class: 'case-body' },
      el(
        'dl',
        { class: 'kv' },
        el('dt', {}, t('wk.handler')),
        el('dd', {}, handler),
        handling ? [el('dt', {}, t('wk.feedback_at')), el('dd', {}, fmtTime(handling.at))] : null,
        el('dt', {}, t('wk.feedback_note')),
        el('dd', { class: 'feedback-note' }, kind.note || t('common.none')),
      ),
      kind.evidence?.length ? el('div', {}, el('p', { class: 'field-title' }, t('wk.evidence')), evidenceList(kind.evidence)) : null,
      c.photos.length ? el('div', {}, el('p', { class: 'field-title' }, t('wk.before')), evidenceList(c.photos)) : null,
      mayVerify
        ? [
            el('div', { class: 'field' }, el('label', { for: noteId }, t('wk.verify_note')), note),
            error,
            el(
              'div',
              { class: 'actions-row verify-actions' },
              el('button', { type: 'button', class: 'fail', onclick: (e) => decide(false, e.currentTarget) }, t('wk.verify_fail')),
              el('button', { type: 'button', class: 'ok', onclick: (e) => decide(true, e.currentTarget) }, t('wk.verify_pass')),
            ),
          ]
        : el('p', { class: 'small muted not-mine' }, t('wk.verify_not_mine')),
    ),
  );
  return li;
}

let verifyLoad = null;
function loadVerify() {
  verifyLoad ??= (async () => {
    const list = $('verify-list');
    if (!list.children.length) list.replaceChildren(el('li', { class: 'loading' }, t('common.loading')));
    try {
      const items = (await allCases({ state: 'awaiting_verification' })).sort(byUrgency);
      const details = await Promise.all(items.map((item) => api(`/api/cases/${item.id}`)));
      const mine = details.filter((d) => d.allowed_commands.includes('verify'));
      const others = details.filter((d) => !d.allowed_commands.includes('verify'));
      tabs.count('verify', mine.length);
      const nodes = mine.map(verifyCard);
      if (!mine.length) nodes.push(el('li', { class: 'empty' }, t('wk.verify_empty')));
      if (others.length) {
        nodes.push(el('li', { class: 'list-heading' }, el('h2', {}, t('wk.others_heading'))));
        nodes.push(...others.map(verifyCard));
      }
      // A redraw (tab switch, live refresh) must not lose a note the worker is typing.
      const typed = [...list.querySelectorAll('[id^="verify-note-"]')].map((node) => [node.id, node.value]);
      list.replaceChildren(...nodes);
      for (const [id, value] of typed) {
        const node = document.getElementById(id);
        if (node && value) node.value = value;
      }
    } catch (error) {
      list.replaceChildren(el('li', { class: 'error-text' }, t('wk.load_failed', { msg: error.message })));
    } finally {
      verifyLoad = null;
    }
  })();
  return verifyLoad;
}

function refreshCounts() {
  loadOpen();
  loadVerify();
}

$('open-refresh').addEventListener('click', loadOpen);
$('verify-refresh').addEventListener('click', loadVerify);

// ---------------------------------------------------------------- tabs

const tabs = tabBar(
  [
    { key: 'report', label: t('wk.tab_report'), icon: 'report', section: $('section-report') },
    { key: 'open', label: t('wk.tab_open'), icon: 'list', section: $('section-open') },
    { key: 'verify', label: t('wk.tab_verify'), icon: 'check', section: $('section-verify') },
  ],
  (key) => {
    if (key === 'report') report.refresh();
    if (key === 'open') loadOpen();
    if (key === 'verify') loadVerify();
  },
);
tabs.start();
refreshCounts();
