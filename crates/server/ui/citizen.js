// 我要上报 (citizen) page, for phones first: report a problem with photos and the position (GPS, a
// pin on the district map, and an address), get a case number, follow one's own cases (progress,
// the department handling it, the result, the history in plain words) and rate the result.
import { addStrings, api, el, fmtTime, reference, showError, stateName, t, toast, topBar, translatePage } from '/ui/common.js';
import { allCases, errorSentence, evidenceList, lastHandling, reportForm, signedIn, tabBar } from '/ui/report-form.js';

addStrings({
  zh: {
    'ct.tab_report': '我要上报',
    'ct.tab_track': '我的上报',
    'ct.report_heading': '我要上报',
    'ct.report_intro': '路面破损、垃圾堆放、井盖缺失、噪音扰民……拍张照片告诉我们，我们会交给负责的部门限时办理。',
    'ct.received': '已收到您的上报',
    'ct.case_no': '您的案件编号：',
    'ct.track_how': '请记下这个编号。办理进度可以随时在「我的上报」里查看，也可以用编号查询；办完后请为办理结果打分。',
    'ct.merged': '同一件事已经有人上报过，您的上报已合并到案件 {id}，会一起办理，进度也在那里查看。',
    'ct.where': '位置',
    'ct.category': '问题类别',
    'ct.see_progress': '查看办理进度',
    'ct.report_another': '再报一件',
    'ct.track_heading': '我的上报',
    'ct.lookup': '按编号查询',
    'ct.lookup_go': '查询',
    'ct.lookup_placeholder': '输入案件编号，例如 12',
    'ct.lookup_digits': '请输入案件编号（只填数字）。',
    'ct.lookup_none': '没有找到编号为 {id} 的案件。请核对编号；这里只能查到您自己上报的案件。',
    'ct.mine_heading': '我上报的事',
    'ct.mine_count': '我上报的事（{n}）',
    'ct.mine_empty': '您还没有上报过问题。在「我要上报」里拍张照片就可以上报。',
    'ct.more': '显示更多',
    'ct.reported_on': '{time} 上报',
    'ct.progress': '办理进度',
    'ct.step.report': '上报',
    'ct.step.accept': '受理',
    'ct.step.handle': '处置',
    'ct.step.verify': '核查',
    'ct.step.close': '办结',
    'ct.step.rejected': '不予受理',
    'ct.step_done': '（已完成）',
    'ct.step_current': '（进行中）',
    'ct.state_now': '当前状态',
    'ct.department': '处理部门',
    'ct.department_none': '还没有派到部门',
    'ct.department_grid': '社区网格员现场处理',
    'ct.reason': '说明',
    'ct.result': '处理结果',
    'ct.result_at': '{time} 反馈',
    'ct.merged_into': '这件事和案件 {id} 是同一件事，合并在那里一起办理。',
    'ct.open_case': '查看案件 {id}',
    'ct.your_report': '我上报的内容',
    'ct.address': '地址',
    'ct.history': '办理记录（{n} 条）',
    'ct.rate_legend': '请为办理结果打分',
    'ct.star': '{n} 星',
    'ct.score.1': '很不满意',
    'ct.score.2': '不满意',
    'ct.score.3': '一般',
    'ct.score.4': '满意',
    'ct.score.5': '非常满意',
    'ct.rate_pick': '点星星打分：1 星最低，5 星最高。',
    'ct.comment': '想说的话（可选）',
    'ct.comment_placeholder': '办得怎么样？有什么建议？',
    'ct.rate_submit': '提交评价',
    'ct.rate_need_score': '请先点星星选择分数。',
    'ct.rated_thanks': '谢谢您的评价！',
    'ct.your_rating': '您的评价',
    'ct.rating_line': '{n} 星 · {word}',
    'ct.load_failed': '没能加载：{msg}',
    'ev.reported_you': '您上报了这件事',
    'ev.reported': '这件事被上报',
    'ev.accepted': '已受理立案，问题类别：{category}',
    'ev.rejected': '不予受理：{reason}',
    'ev.dispatched': '已交给{department}办理',
    'ev.dispatched_co': '已交给{department}办理，{co}协办',
    'ev.self_settled': '社区网格员已现场处理：{note}',
    'ev.returned': '处置部门认为不属于本部门职责，已退回重新安排：{reason}',
    'ev.feedback_given': '处置部门反馈已办完：{note}',
    'ev.verified': '现场核查通过',
    'ev.verification_failed': '现场核查发现还没有办好，已要求重新处理：{reason}',
    'ev.closed': '已办结',
    'ev.rated_you': '您评价了 {score} 星',
    'ev.rated': '已评价 {score} 星',
    'ev.extension_requested': '处置部门申请延长办理时间：{reason}',
    'ev.extension_approved': '同意延长办理时间',
    'ev.extension_denied': '没有同意延长办理时间',
    'ev.long_term_set': '列为长期跟踪：{reason}',
    'ev.long_term_resumed': '恢复办理',
    'ev.supervision_issued': '上级已督促加快办理',
    'ev.escalated': '已升级由{tier}协调办理',
    'ev.merged_into': '与案件 {id} 是同一件事，合并办理',
    'ev.duplicate_absorbed': '其他人上报的同一件事（案件 {id}）已合并到这里',
    'ev.other': '办理有了新进展',
    'tier.word.street': '街道',
    'tier.word.district': '区里',
    'tier.word.grid': '社区网格',
  },
  en: {
    'ct.tab_report': 'Report',
    'ct.tab_track': 'My reports',
    'ct.report_heading': 'Report a problem',
    'ct.report_intro': 'Broken pavement, rubbish, a missing manhole cover, noise… Send a photo: the department responsible handles it against a deadline.',
    'ct.received': 'We have your report',
    'ct.case_no': 'Your case number: ',
    'ct.track_how': 'Note this number. Follow the case any time under “My reports” or look it up by number; once it is done, please rate the result.',
    'ct.merged': 'Someone already reported the same matter: your report was merged into case {id}, handled together; follow it there.',
    'ct.where': 'Where',
    'ct.category': 'Category',
    'ct.see_progress': 'Follow this case',
    'ct.report_another': 'Report another',
    'ct.track_heading': 'My reports',
    'ct.lookup': 'Look up by number',
    'ct.lookup_go': 'Look up',
    'ct.lookup_placeholder': 'Case number, e.g. 12',
    'ct.lookup_digits': 'Enter a case number (digits only).',
    'ct.lookup_none': 'There is no case {id} among yours. Check the number: you can look up only the cases you reported.',
    'ct.mine_heading': 'What I reported',
    'ct.mine_count': 'What I reported ({n})',
    'ct.mine_empty': 'You have not reported anything yet. Under “Report”, a photo is enough.',
    'ct.more': 'Show more',
    'ct.reported_on': 'reported {time}',
    'ct.progress': 'Progress',
    'ct.step.report': 'Reported',
    'ct.step.accept': 'Accepted',
    'ct.step.handle': 'Handled',
    'ct.step.verify': 'Checked',
    'ct.step.close': 'Closed',
    'ct.step.rejected': 'Not accepted',
    'ct.step_done': ' (done)',
    'ct.step_current': ' (in progress)',
    'ct.state_now': 'Now',
    'ct.department': 'Handled by',
    'ct.department_none': 'Not sent to a department yet',
    'ct.department_grid': 'The community grid worker, on the spot',
    'ct.reason': 'Note',
    'ct.result': 'Result',
    'ct.result_at': 'reported done {time}',
    'ct.merged_into': 'This is the same matter as case {id}; it is handled there.',
    'ct.open_case': 'Open case {id}',
    'ct.your_report': 'What I reported',
    'ct.address': 'Address',
    'ct.history': 'History ({n})',
    'ct.rate_legend': 'Rate the result',
    'ct.star': '{n} star(s)',
    'ct.score.1': 'Very poor',
    'ct.score.2': 'Poor',
    'ct.score.3': 'Fair',
    'ct.score.4': 'Good',
    'ct.score.5': 'Excellent',
    'ct.rate_pick': 'Tap a star: 1 is lowest, 5 highest.',
    'ct.comment': 'Comment (optional)',
    'ct.comment_placeholder': 'How did it go? Any suggestion?',
    'ct.rate_submit': 'Send rating',
    'ct.rate_need_score': 'Choose a number of stars first.',
    'ct.rated_thanks': 'Thank you for rating!',
    'ct.your_rating': 'Your rating',
    'ct.rating_line': '{n} stars · {word}',
    'ct.load_failed': 'Could not load: {msg}',
    'ev.reported_you': 'You reported it',
    'ev.reported': 'Reported',
    'ev.accepted': 'Accepted as: {category}',
    'ev.rejected': 'Not accepted: {reason}',
    'ev.dispatched': 'Sent to {department}',
    'ev.dispatched_co': 'Sent to {department}, with {co}',
    'ev.self_settled': 'The community grid worker dealt with it on the spot: {note}',
    'ev.returned': 'The department said it is not theirs; it is being sent again: {reason}',
    'ev.feedback_given': 'The department says it is done: {note}',
    'ev.verified': 'Checked on the spot: done',
    'ev.verification_failed': 'Checked on the spot: not done yet, sent back: {reason}',
    'ev.closed': 'Closed',
    'ev.rated_you': 'You rated it {score} stars',
    'ev.rated': 'Rated {score} stars',
    'ev.extension_requested': 'The department asked for more time: {reason}',
    'ev.extension_approved': 'More time granted',
    'ev.extension_denied': 'More time refused',
    'ev.long_term_set': 'Followed long-term: {reason}',
    'ev.long_term_resumed': 'Work resumed',
    'ev.supervision_issued': 'Supervisors asked for faster handling',
    'ev.escalated': 'Raised to the {tier} level',
    'ev.merged_into': 'Same matter as case {id}; handled together',
    'ev.duplicate_absorbed': 'A report of the same matter (case {id}) was merged here',
    'ev.other': 'Progress was made',
    'tier.word.street': 'street',
    'tier.word.district': 'district',
    'tier.word.grid': 'grid',
  },
});

const me = await signedIn('citizen');
topBar(me, 'citizen');
translatePage();

const $ = (id) => document.getElementById(id);
const PAGE = 20;

// ---------------------------------------------------------------- report

const report = reportForm($('report-form'), { me, variant: 'citizen', onReported: showOutcome });

function showOutcome(outcome) {
  const item = outcome.case;
  const tracked = outcome.merged_into || item.id;
  const box = $('outcome');
  box.replaceChildren(
    ...[
      el('h2', { class: 'outcome-title' }, '✓ ', t('ct.received')),
      el('p', { class: 'case-number' }, t('ct.case_no'), el('strong', { id: 'outcome-case' }, String(item.id))),
      outcome.merged_into ? el('p', { class: 'notice' }, t('ct.merged', { id: outcome.merged_into })) : null,
      el('p', { class: 'track-how' }, t('ct.track_how')),
      el(
        'dl',
        { class: 'kv' },
        el('dt', {}, t('ct.where')),
        el('dd', {}, item.cell_name || item.cell, item.address ? ` · ${item.address}` : ''),
        el('dt', {}, t('ct.category')),
        el('dd', {}, item.category_name || item.category),
      ),
      el(
        'div',
        { class: 'actions-row' },
        el(
          'button',
          { type: 'button', class: 'primary', id: 'outcome-track', onclick: () => followCase(tracked) },
          t('ct.see_progress'),
        ),
        el('button', { type: 'button', id: 'report-another', onclick: reportAnother }, t('ct.report_another')),
      ),
    ].filter(Boolean),
  );
  $('report-area').hidden = true;
  box.hidden = false;
  window.scrollTo(0, 0);
  box.focus({ preventScroll: true });
  mineLoaded = false;
}

function reportAnother() {
  $('outcome').hidden = true;
  $('report-area').hidden = false;
  report.refresh();
  $('report-description').focus();
}

async function followCase(id) {
  tabs.show('track');
  await loadMine();
  const card = $('my-cases').querySelector(`li[data-case="${id}"]`);
  if (card) {
    expand(card, true);
    card.scrollIntoView({ block: 'start' });
  } else {
    $('lookup-id').value = String(id);
    lookup();
  }
}

// ---------------------------------------------------------------- one case, in plain words

const STEPS = ['report', 'accept', 'handle', 'verify', 'close'];
// How many steps are behind the case in each state (the next one is the one in progress).
const REACHED = {
  reported: 1,
  accepted: 2,
  handling: 2,
  long_term: 2,
  awaiting_verification: 3,
  verified: 4,
  closed: 5,
  rejected: 1,
  merged: 1,
};

function progressLine(c) {
  const reached = REACHED[c.state] ?? 1;
  return el(
    'ol',
    { class: 'progress', 'aria-label': t('ct.progress') },
    STEPS.map((step, index) => {
      let status = index < reached ? 'done' : index === reached ? 'current' : 'todo';
      let label = t(`ct.step.${step}`);
      if (c.state === 'rejected' && index === 1) {
        status = 'stopped';
        label = t('ct.step.rejected');
      } else if ((c.state === 'rejected' || c.state === 'merged') && index > 0) {
        status = 'todo';
      }
      return el(
        'li',
        { class: `step ${status}`, 'aria-current': status === 'current' ? 'step' : null },
        el('span', { class: 'dot', 'aria-hidden': 'true' }, status === 'done' ? '✓' : status === 'stopped' ? '×' : ''),
        el(
          'span',
          { class: 'label' },
          label,
          status === 'done' ? el('span', { class: 'visually-hidden' }, t('ct.step_done')) : null,
          status === 'current' ? el('span', { class: 'visually-hidden' }, t('ct.step_current')) : null,
        ),
      );
    }),
  );
}

function eventSentence(event, ref) {
  const kind = event.kind || {};
  const dept = (code) => ref.departmentByCode.get(code)?.name || code;
  const mine = event.actor?.person === me.id;
  switch (kind.type) {
    case 'reported':
      return t(mine ? 'ev.reported_you' : 'ev.reported');
    case 'accepted':
      return t('ev.accepted', { category: ref.categoryByCode.get(kind.category)?.name || kind.category });
    case 'rejected':
      return t('ev.rejected', { reason: kind.reason });
    case 'dispatched':
      return kind.co_departments?.length
        ? t('ev.dispatched_co', { department: dept(kind.department), co: kind.co_departments.map(dept).join('、') })
        : t('ev.dispatched', { department: dept(kind.department) });
    case 'self_settled':
    case 'feedback_given':
      return t(`ev.${kind.type}`, { note: kind.note || '—' });
    case 'returned':
    case 'long_term_set':
    case 'extension_requested':
      return t(`ev.${kind.type}`, { reason: kind.reason || '—' });
    case 'verification_failed':
      return t('ev.verification_failed', { reason: kind.reason || '—' });
    case 'rated':
      return t(mine ? 'ev.rated_you' : 'ev.rated', { score: kind.rating?.score });
    case 'escalated':
      return t('ev.escalated', { tier: t(`tier.word.${kind.to}`) });
    case 'merged_into':
      return t('ev.merged_into', { id: kind.target });
    case 'duplicate_absorbed':
      return t('ev.duplicate_absorbed', { id: kind.source });
    case 'verified':
    case 'closed':
    case 'extension_approved':
    case 'extension_denied':
    case 'long_term_resumed':
    case 'supervision_issued':
      return t(`ev.${kind.type}`);
    default:
      return t('ev.other');
  }
}

function starsText(score) {
  return `${'★'.repeat(score)}${'☆'.repeat(5 - score)}`;
}

function rateForm(c, done) {
  const name = `score-${c.id}`;
  const hint = el('p', { class: 'star-text small muted', 'aria-live': 'polite' }, t('ct.rate_pick'));
  const labels = [];
  const paint = (upTo) => labels.forEach((label, index) => label.classList.toggle('on', index < upTo));
  const chosen = () => Number(form.querySelector(`input[name="${name}"]:checked`)?.value || 0);
  const stars = el(
    'fieldset',
    { class: 'stars', onmouseleave: () => paint(chosen()) },
    el('legend', {}, t('ct.rate_legend')),
    el(
      'div',
      { class: 'star-row' },
      [1, 2, 3, 4, 5].map((n) => {
        const id = `${name}-${n}`;
        const label = el(
          'label',
          { for: id, title: `${t('ct.star', { n })} · ${t(`ct.score.${n}`)}`, onmouseenter: () => paint(n) },
          el('span', { 'aria-hidden': 'true' }, '★'),
          el('span', { class: 'visually-hidden' }, `${t('ct.star', { n })} · ${t(`ct.score.${n}`)}`),
        );
        labels.push(label);
        const input = el('input', {
          type: 'radio',
          name,
          id,
          value: n,
          class: 'visually-hidden',
          onchange: () => {
            paint(n);
            hint.textContent = t('ct.rating_line', { n, word: t(`ct.score.${n}`) });
            hint.classList.remove('muted');
            error.replaceChildren();
          },
        });
        return [input, label];
      }).flat(),
    ),
  );
  const commentId = `comment-${c.id}`;
  const comment = el('textarea', { id: commentId, rows: 2, maxlength: 5000, placeholder: t('ct.comment_placeholder') });
  const error = el('p', { class: 'error-text form-error', role: 'alert' });
  const submit = el('button', { type: 'submit', class: 'primary big' }, t('ct.rate_submit'));
  const form = el(
    'form',
    {
      class: 'rate',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const score = chosen();
        if (!score) {
          error.textContent = t('ct.rate_need_score');
          form.querySelector('input[type=radio]').focus();
          return;
        }
        submit.disabled = true;
        try {
          await api(`/api/cases/${c.id}/commands`, {
            method: 'POST',
            query: { expected_version: c.version },
            body: { command: 'rate', score, comment: comment.value.trim() },
          });
          toast(t('ct.rated_thanks'), 'ok');
          done();
        } catch (failure) {
          error.replaceChildren(errorSentence(failure));
          submit.disabled = false;
        }
      },
    },
    stars,
    hint,
    el('div', { class: 'field' }, el('label', { for: commentId }, t('ct.comment')), comment),
    error,
    submit,
  );
  return form;
}

async function fillDetail(body, id) {
  body.replaceChildren(el('p', { class: 'loading' }, t('common.loading')));
  let detail;
  let ref;
  try {
    [detail, ref] = await Promise.all([api(`/api/cases/${id}`), reference()]);
  } catch (error) {
    body.replaceChildren(el('p', { class: 'error-text' }, errorSentence(error)));
    return null;
  }
  const c = detail.case;
  const handling = lastHandling(detail.history);
  let department = c.department_name || t('ct.department_none');
  if (c.handler === 'grid') department = t('ct.department_grid');
  const refresh = async () => {
    const view = await fillDetail(body, id);
    if (view) updateHead(body.closest('li'), view);
  };
  body.replaceChildren(
    ...[
      progressLine(c),
      el(
        'dl',
        { class: 'kv' },
        el('dt', {}, t('ct.state_now')),
        el('dd', {}, el('span', { class: `badge state s-${c.state}` }, stateName(c.state))),
        c.state !== 'merged' ? [el('dt', {}, t('ct.department')), el('dd', { class: 'department' }, department)] : null,
        c.reason ? [el('dt', {}, t('ct.reason')), el('dd', {}, c.reason)] : null,
      ),
      c.merged_into
        ? el(
            'p',
            { class: 'notice' },
            t('ct.merged_into', { id: c.merged_into }),
            ' ',
            el('button', { type: 'button', class: 'link', onclick: () => lookup(c.merged_into) }, t('ct.open_case', { id: c.merged_into })),
          )
        : null,
      handling && ['awaiting_verification', 'verified', 'closed'].includes(c.state)
        ? el(
            'div',
            { class: 'result' },
            el('h3', {}, t('ct.result'), el('span', { class: 'small muted' }, ` · ${t('ct.result_at', { time: fmtTime(handling.at) })}`)),
            el('p', { class: 'feedback-note' }, handling.kind.note || '—'),
            handling.kind.evidence?.length ? evidenceList(handling.kind.evidence) : null,
          )
        : null,
      c.rating
        ? el(
            'div',
            { class: 'rating-shown' },
            el('h3', {}, t('ct.your_rating')),
            el('p', { class: 'stars-shown', 'aria-label': t('ct.rating_line', { n: c.rating.score, word: t(`ct.score.${c.rating.score}`) }) },
              el('span', { class: 'glyphs', 'aria-hidden': 'true' }, starsText(c.rating.score)),
              el('span', { class: 'score' }, t('ct.rating_line', { n: c.rating.score, word: t(`ct.score.${c.rating.score}`) })),
            ),
            c.rating.comment ? el('p', { class: 'comment' }, c.rating.comment) : null,
          )
        : null,
      !c.rating && detail.allowed_commands.includes('rate') ? rateForm(c, refresh) : null,
      el(
        'details',
        { class: 'history', open: true },
        el('summary', {}, t('ct.history', { n: detail.history.length })),
        el(
          'ol',
          { class: 'timeline' },
          detail.history
            .slice()
            .reverse()
            .map((event) => el('li', {}, el('time', { datetime: event.at }, fmtTime(event.at)), el('span', {}, eventSentence(event, ref)))),
        ),
      ),
      el(
        'details',
        { class: 'mine' },
        el('summary', {}, t('ct.your_report')),
        el('p', { class: 'description' }, c.description || c.title),
        c.address ? el('p', { class: 'small muted' }, `${t('ct.address')}：${c.address}`) : null,
        c.photos.length ? evidenceList(c.photos) : null,
      ),
    ].filter(Boolean),
  );
  return c;
}

function updateHead(li, c) {
  if (!li) return;
  const badge = li.querySelector('.case-head .badge.state');
  if (badge) {
    badge.textContent = stateName(c.state);
    badge.className = `badge state s-${c.state}`;
  }
}

function expand(li, open) {
  const head = li.querySelector('.case-head');
  const body = li.querySelector('.case-body');
  body.hidden = !open;
  head.setAttribute('aria-expanded', String(open));
  if (open) fillDetail(body, Number(li.dataset.case)).then((c) => c && updateHead(li, c));
}

function caseCard(item, { open = false } = {}) {
  const body = el('div', { class: 'case-body', hidden: true, id: `case-body-${item.id}-${Math.random().toString(36).slice(2, 7)}` });
  const li = el('li', { class: `case-card citizen-card s-${item.state}`, 'data-case': item.id });
  const head = el(
    'button',
    {
      type: 'button',
      class: 'case-head',
      'aria-expanded': 'false',
      'aria-controls': body.id,
      onclick: () => expand(li, body.hidden),
    },
    el(
      'span',
      { class: 'line1' },
      el('span', { class: 'no' }, `#${item.id}`),
      el('span', { class: 'title' }, item.title),
      el('span', { class: 'chev', 'aria-hidden': 'true' }, '▾'),
    ),
    el(
      'span',
      { class: 'meta' },
      el('span', { class: `badge state s-${item.state}` }, stateName(item.state)),
      el('span', {}, t('ct.reported_on', { time: fmtTime(item.reported_at) })),
    ),
  );
  li.append(head, body);
  if (open) expand(li, true);
  return li;
}

// ---------------------------------------------------------------- my cases and the lookup

let mine = [];
let shown = PAGE;
let mineLoaded = false;
let mineLoad = null;

function drawMine() {
  const list = $('my-cases');
  $('mine-heading').textContent = mine.length ? t('ct.mine_count', { n: mine.length }) : t('ct.mine_heading');
  list.replaceChildren(
    ...(mine.length ? mine.slice(0, shown).map((item) => caseCard(item)) : [el('li', { class: 'empty' }, t('ct.mine_empty'))]),
  );
  $('more').hidden = mine.length <= shown;
}

function loadMine({ force = false } = {}) {
  if (mineLoaded && !force) return Promise.resolve();
  mineLoad ??= (async () => {
    const list = $('my-cases');
    if (!list.children.length) list.replaceChildren(el('li', { class: 'loading' }, t('common.loading')));
    try {
      mine = (await allCases()).sort((a, b) => b.id - a.id);
      mineLoaded = true;
      drawMine();
    } catch (error) {
      list.replaceChildren(el('li', { class: 'error-text' }, t('ct.load_failed', { msg: error.message })));
    } finally {
      mineLoad = null;
    }
  })();
  return mineLoad;
}

$('more').addEventListener('click', () => {
  const first = shown;
  shown += PAGE;
  drawMine();
  $('my-cases').children[first]?.querySelector('.case-head')?.focus();
});
$('mine-refresh').addEventListener('click', () => loadMine({ force: true }));

async function lookup(wanted) {
  const input = $('lookup-id');
  if (wanted) input.value = String(wanted);
  const text = input.value.trim().replace(/^#/, '');
  const message = $('lookup-message');
  const result = $('lookup-result');
  message.className = 'lookup-message';
  message.textContent = '';
  result.replaceChildren();
  if (!/^\d{1,15}$/.test(text)) {
    message.textContent = t('ct.lookup_digits');
    message.classList.add('error-text');
    input.focus();
    return;
  }
  const id = Number(text);
  try {
    const detail = await api(`/api/cases/${id}`);
    const card = caseCard(detail.case, { open: true });
    card.classList.add('found');
    result.replaceChildren(card);
    card.scrollIntoView({ block: 'nearest' });
  } catch (error) {
    message.classList.add('error-text');
    if (error.status === 404) message.textContent = t('ct.lookup_none', { id });
    else message.replaceChildren(errorSentence(error));
  }
}

$('lookup').addEventListener('submit', (event) => {
  event.preventDefault();
  lookup().catch(showError);
});

// ---------------------------------------------------------------- tabs

const tabs = tabBar(
  [
    { key: 'report', label: t('ct.tab_report'), icon: 'report', section: $('section-report') },
    { key: 'track', label: t('ct.tab_track'), icon: 'list', section: $('section-track') },
  ],
  (key) => {
    if (key === 'report') report.refresh();
    if (key === 'track') loadMine();
  },
);
tabs.start();
