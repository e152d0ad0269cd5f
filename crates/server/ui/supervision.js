// 督办任务: the targets of a work report's year as supervised tasks. The list (GET /api/supervision/tasks)
// with filters and status badges, a task panel (source quote, history with its chain check, edit of
// lead/co departments and deadline, progress by the lead department, 督办 notices), the reminders panel
// (GET /api/supervision/reminders: what is behind, overdue or unanswered, with the reminders the sweep
// recorded and the 督办 action at hand), import of a report (POST /api/supervision/import, preview
// first: encoding, every cleaning step with its position, the targets that become tasks and the other
// items), exports (XLSX/CSV fetched with the bearer token) and a printable 实效表. Rules:
// docs/supervision.md.
import { addStrings, api, el, fmtTime, lang, reference, requireSignIn, serverNow, showError, t, toast, topBar, translatePage } from '/ui/common.js';

addStrings({
  zh: {
    'sv.changed': '这项任务刚刚有了新的记录（例如系统的催办提醒），已为您刷新；请核对后再提交一次。',
    'sv.title': '督办任务',
    'sv.import': '导入工作报告',
    'sv.export.xlsx': '导出 Excel',
    'sv.export.csv': '导出 CSV',
    'sv.print': '打印实效表',
    'sv.f.department': '部门',
    'sv.f.section': '篇章',
    'sv.f.status': '状态',
    'sv.f.report': '报告',
    'sv.all': '全部',
    'sv.list': '任务列表',
    'sv.s.on_track': '正常推进',
    'sv.s.at_risk': '进度滞后',
    'sv.s.overdue': '逾期未完成',
    'sv.s.done': '已完成',
    'sv.c.id': '编号',
    'sv.c.indicator': '指标',
    'sv.c.target': '目标',
    'sv.c.actual': '最新实际',
    'sv.c.status': '状态',
    'sv.c.lead': '主办',
    'sv.c.co': '协办',
    'sv.c.deadline': '截止',
    'sv.c.section': '篇章',
    'sv.c.quote': '原文',
    'sv.empty': '没有符合条件的任务。',
    'sv.pick': '选择一项任务查看原文、进度和督办记录。',
    'sv.summary': '共 {total} 项：正常推进 {on_track}，进度滞后 {at_risk}，逾期 {overdue}，已完成 {done}',
    'sv.unassigned': '未分配',
    'sv.quote': '报告原文',
    'sv.report': '{report} · 字符 {start}–{end}',
    'sv.progress': '进度 {p}% · 时间已过 {e}%',
    'sv.history': '办理记录',
    'sv.chain.ok': '记录链校验通过（{n} 条）',
    'sv.chain.bad': '记录链校验失败：{problem}',
    'sv.edit': '调整主办、协办和截止日期',
    'sv.edit.lead': '主办部门',
    'sv.edit.co': '协办部门',
    'sv.edit.deadline': '截止日期',
    'sv.edit.save': '保存调整',
    'sv.edit.saved': '已保存调整',
    'sv.report.title': '报送进度（主办部门）',
    'sv.report.value': '截至目前完成值（{unit}）',
    'sv.report.evidence': '佐证材料（每行一项）',
    'sv.report.note': '说明',
    'sv.report.send': '报送进度',
    'sv.report.sent': '已报送进度',
    'sv.notice.title': '发出督办',
    'sv.notice.note': '督办要求',
    'sv.notice.days': '限期报送（工作日）',
    'sv.notice.send': '发出督办',
    'sv.notice.sent': '已发出督办',
    'sv.notices': '督办 {n} 次',
    'sv.ev.created': '立项',
    'sv.ev.edited': '调整',
    'sv.ev.progress_reported': '进度报送',
    'sv.ev.notice_issued': '督办',
    'sv.ev.done': '完成',
    'sv.ev.value': '完成值 {value}',
    'sv.ev.respond_by': '限 {time} 前报送',
    'sv.ev.lead': '主办 {lead}',
    'sv.ev.deadline': '截止 {deadline}',
    'sv.i.name': '报告名称',
    'sv.i.name.ph': '例如：东丽区2021年政府工作报告',
    'sv.i.year': '年度（留空则按报告标题）',
    'sv.i.text': '粘贴报告全文',
    'sv.i.file': '或上传文本文件（UTF-8 或 GBK）',
    'sv.i.preview': '预览目标',
    'sv.i.confirm': '确认导入',
    'sv.i.need': '请粘贴报告全文或选择文件。',
    'sv.i.found': '《{name}》（{year} 年）：共识别 {items} 个量化指标，其中本年度目标 {n} 项将成为督办任务。',
    'sv.i.done': '已导入 {n} 项督办任务',
    'sv.exported': '已导出 {name}',
    'sv.print.title': '实效表',
    'sv.short.overdue': '逾期 {n} 天',
    'sv.short.behind': '落后 {n} 个百分点',
    'sv.short.stale': '{n} 天未报送',
    'sv.print.note': '{time} 导出 · 仅含您有权查看的任务',
    'sv.ev.reminded': '催办提醒',
    'sv.rem.button': '催办提醒',
    'sv.rem.title': '催办提醒',
    'sv.rem.rule': '进度滞后、逾期或督办后逾期未报送的任务。系统对滞后或逾期任务自动记录催办提醒：每 {n} 个工作日一次（自上次提醒或督办起），转为逾期时立即提醒。',
    'sv.rem.none': '没有滞后或逾期的任务。',
    'sv.rem.auto': '已自动提醒 {n} 次，最近 {time}',
    'sv.rem.auto.none': '尚未自动提醒',
    'sv.rem.notices': '督办 {n} 次',
    'sv.rem.open': '查看',
    'sv.rem.notice': '督办',
    'sv.rem.report': '报送进度',
    'sv.rem.note': '请于 {days} 个工作日内报送“{indicator}”进度：{why}',
    'sv.rem.close': '收起',
    'sv.i.encoding.converted': '文件为 {encoding} 编码（GBK 是其子集），已转换为 UTF-8；以下位置按转换后的字符计。',
    'sv.i.encoding.utf8': '文件为 UTF-8 编码，无需转换。',
    'sv.i.steps': '清洗步骤（{n}）：请核对删除、替换和拼接的内容',
    'sv.i.steps.none': '报告无需清洗。',
    'sv.i.pos': '第 {line} 行第 {column} 字 · 字符 {start}–{end}',
    'sv.i.chars': '（共 {n} 字）',
    'sv.i.targets': '本年度目标（{n}）：确认后成为督办任务',
    'sv.i.others': '其他量化指标（{n}）：已完成的成绩和规划期目标，不立为任务',
    'sv.i.line': '行',
    'sv.i.kind': '类别',
    'sv.i.value': '数值',
    'sv.i.suggested': '建议主办（协办）',
    'sv.i.achievement': '已完成',
    'sv.i.plan': '规划目标 · {period}',
    'sv.i.later': '{period} 年目标',
    'sv.i.this_year': '本年度目标',
    'sv.k.encoding': '编码转换',
    'sv.k.invisible_character': '不可见字符',
    'sv.k.full_width': '全角字符',
    'sv.k.footnote_mark': '脚注符号',
    'sv.k.traditional_form': '繁体字',
    'sv.k.page_header': '报眉页码',
    'sv.k.continuation_mark': '转版标记',
    'sv.k.running_title': '栏头标题',
    'sv.k.page_furniture': '版面杂项',
    'sv.k.column_break_join': '断行拼接',
    'sv.k.space_between_hanzi': '汉字间空格',
    'sv.k.repeated_passage': '重复段落',
  },
  en: {
    'sv.changed': 'This task has just had a new entry (a reminder, say); it has been refreshed. Check it and submit again.',
    'sv.title': 'Supervision tasks',
    'sv.import': 'Import a work report',
    'sv.export.xlsx': 'Export Excel',
    'sv.export.csv': 'Export CSV',
    'sv.print': 'Print results table',
    'sv.f.department': 'Department',
    'sv.f.section': 'Section',
    'sv.f.status': 'Status',
    'sv.f.report': 'Report',
    'sv.all': 'All',
    'sv.list': 'Tasks',
    'sv.s.on_track': 'On track',
    'sv.s.at_risk': 'At risk',
    'sv.s.overdue': 'Overdue',
    'sv.s.done': 'Done',
    'sv.c.id': 'No.',
    'sv.c.indicator': 'Indicator',
    'sv.c.target': 'Target',
    'sv.c.actual': 'Latest actual',
    'sv.c.status': 'Status',
    'sv.c.lead': 'Lead',
    'sv.c.co': 'Co-handling',
    'sv.c.deadline': 'Deadline',
    'sv.c.section': 'Section',
    'sv.c.quote': 'Source',
    'sv.empty': 'No task matches.',
    'sv.pick': 'Pick a task to see its source text, progress and 督办 record.',
    'sv.summary': '{total} tasks: {on_track} on track, {at_risk} at risk, {overdue} overdue, {done} done',
    'sv.unassigned': 'Not assigned',
    'sv.quote': 'Source text',
    'sv.report': '{report} · characters {start}–{end}',
    'sv.progress': '{p}% done · {e}% of the time gone',
    'sv.history': 'History',
    'sv.chain.ok': 'History chain verified ({n} events)',
    'sv.chain.bad': 'History chain broken: {problem}',
    'sv.edit': 'Change lead, co-handling departments and deadline',
    'sv.edit.lead': 'Lead department',
    'sv.edit.co': 'Co-handling departments',
    'sv.edit.deadline': 'Deadline',
    'sv.edit.save': 'Save changes',
    'sv.edit.saved': 'Changes saved',
    'sv.report.title': 'Report progress (lead department)',
    'sv.report.value': 'Value to date ({unit})',
    'sv.report.evidence': 'Evidence (one per line)',
    'sv.report.note': 'Note',
    'sv.report.send': 'Report progress',
    'sv.report.sent': 'Progress reported',
    'sv.notice.title': 'Issue a 督办 notice',
    'sv.notice.note': 'What is expected',
    'sv.notice.days': 'Report within (working days)',
    'sv.notice.send': 'Issue notice',
    'sv.notice.sent': 'Notice issued',
    'sv.notices': '{n} notices',
    'sv.ev.created': 'Created',
    'sv.ev.edited': 'Changed',
    'sv.ev.progress_reported': 'Progress reported',
    'sv.ev.notice_issued': '督办 notice',
    'sv.ev.done': 'Done',
    'sv.ev.value': 'value {value}',
    'sv.ev.respond_by': 'report by {time}',
    'sv.ev.lead': 'lead {lead}',
    'sv.ev.deadline': 'deadline {deadline}',
    'sv.i.name': 'Report name',
    'sv.i.name.ph': 'e.g. Dongli 2021 government work report',
    'sv.i.year': 'Year (blank: from the headings)',
    'sv.i.text': 'Paste the whole report',
    'sv.i.file': 'or upload a text file (UTF-8 or GBK)',
    'sv.i.preview': 'Preview targets',
    'sv.i.confirm': 'Import',
    'sv.i.need': 'Paste the report or choose a file.',
    'sv.i.found': '“{name}” ({year}): {items} quantified items, {n} of them this year’s targets, which become tasks.',
    'sv.i.done': '{n} supervision tasks imported',
    'sv.exported': 'Exported {name}',
    'sv.print.title': 'Results table (实效表)',
    'sv.short.overdue': '{n} days overdue',
    'sv.short.behind': '{n} points behind',
    'sv.short.stale': 'no report for {n} days',
    'sv.print.note': 'Exported {time} · only the tasks you may see',
    'sv.ev.reminded': 'Reminder',
    'sv.rem.button': 'Reminders',
    'sv.rem.title': 'Reminders',
    'sv.rem.rule': 'Tasks at risk, overdue, or with a 督办 notice unanswered past its limit. The server records a reminder on a task at risk or overdue every {n} working days (from its last reminder or notice), and at once when it falls overdue.',
    'sv.rem.none': 'No task is behind.',
    'sv.rem.auto': 'reminded {n} times, last {time}',
    'sv.rem.auto.none': 'not reminded yet',
    'sv.rem.notices': '{n} notices',
    'sv.rem.open': 'Open',
    'sv.rem.notice': '督办',
    'sv.rem.report': 'Report progress',
    'sv.rem.note': 'Report the progress of “{indicator}” within {days} working days: {why}',
    'sv.rem.close': 'Hide',
    'sv.i.encoding.converted': 'The file is in {encoding} (GBK is its subset); it was converted to UTF-8. Positions count characters of the converted text.',
    'sv.i.encoding.utf8': 'The file is UTF-8; nothing to convert.',
    'sv.i.steps': 'Cleaning steps ({n}): check what was removed, replaced or joined',
    'sv.i.steps.none': 'The report needed no cleaning.',
    'sv.i.pos': 'line {line}, character {column} · offsets {start}–{end}',
    'sv.i.chars': '({n} characters)',
    'sv.i.targets': 'This year’s targets ({n}): they become tasks',
    'sv.i.others': 'Other quantified items ({n}): achievements and plan-period targets, not tasks',
    'sv.i.line': 'Line',
    'sv.i.kind': 'Kind',
    'sv.i.value': 'Value',
    'sv.i.suggested': 'Suggested lead (co-handling)',
    'sv.i.achievement': 'Achievement',
    'sv.i.plan': 'Plan target · {period}',
    'sv.i.later': 'Target for {period}',
    'sv.i.this_year': 'This year’s target',
    'sv.k.encoding': 'Encoding',
    'sv.k.invisible_character': 'Invisible character',
    'sv.k.full_width': 'Full-width',
    'sv.k.footnote_mark': 'Footnote mark',
    'sv.k.traditional_form': 'Traditional form',
    'sv.k.page_header': 'Page header',
    'sv.k.continuation_mark': 'Continuation mark',
    'sv.k.running_title': 'Running title',
    'sv.k.page_furniture': 'Page furniture',
    'sv.k.column_break_join': 'Column break joined',
    'sv.k.space_between_hanzi': 'Space between hanzi',
    'sv.k.repeated_passage': 'Repeated passage',
  },
});

const STATUS_BADGE = { on_track: 'green', at_risk: 'yellow', overdue: 'red', done: 'grey' };
const state = { me: null, ref: null, tasks: [], reminders: [], selected: null, all: false };
// docs/supervision.md: a task behind is reminded again after this many working days.
const REMIND_EVERY_WORKING_DAYS = 5;

function statusBadge(status) {
  return el('span', { class: `badge ${STATUS_BADGE[status] || 'none'}` }, t(`sv.s.${status}`));
}

function behind(task) {
  return lang() === 'en' ? task.behind_en : task.behind_zh;
}

function behindShort(task) {
  if (task.status === 'overdue') return t('sv.short.overdue', { n: task.days_overdue });
  if (task.status !== 'at_risk') return '';
  if (task.behind_points > 15) return t('sv.short.behind', { n: Math.round(task.behind_points) });
  return t('sv.short.stale', { n: task.days_since_report });
}

function deptName(code, short = false) {
  if (!code) return t('sv.unassigned');
  const d = state.ref.departmentByCode.get(code);
  if (!d) return code;
  if (lang() === 'en') return code;
  return short && d.short_name ? d.short_name : d.name;
}

function actual(task) {
  if (!task.latest) return '—';
  return `${task.latest.value}${task.unit ? ' ' + task.unit : ''}`;
}

function filters() {
  const form = document.getElementById('filters');
  return Object.fromEntries(new FormData(form).entries());
}

function fillSelect(select, values, label) {
  const current = select.value;
  select.replaceChildren(el('option', { value: '' }, t('sv.all')), ...values.map(([value, text]) => el('option', { value }, label ? label(value, text) : text)));
  select.value = values.some(([v]) => v === current) ? current : '';
}

async function load() {
  try {
    const [tasks, everything, reminders] = await Promise.all([
      api('/api/supervision/tasks', { query: filters() }),
      api('/api/supervision/tasks'),
      api('/api/supervision/reminders', { query: filters() }),
    ]);
    state.tasks = tasks;
    state.reminders = reminders;
    drawReminders();
    const departments = new Map();
    const sections = new Set();
    const reports = new Set();
    for (const task of everything) {
      for (const code of [task.lead, ...task.co_departments]) if (code) departments.set(code, deptName(code));
      sections.add(task.section.split(' › ')[0]);
      reports.add(task.report);
    }
    fillSelect(document.getElementById('f-department'), [...departments.entries()].sort((a, b) => a[1].localeCompare(b[1], 'zh')));
    fillSelect(document.getElementById('f-section'), [...sections].map((s) => [s, s]));
    fillSelect(document.getElementById('f-report'), [...reports].map((r) => [r, r]));
    drawList();
    if (state.selected && tasks.some((x) => x.id === state.selected)) await openTask(state.selected);
  } catch (error) {
    showError(error);
  }
}

function drawList() {
  const counts = { total: state.tasks.length, on_track: 0, at_risk: 0, overdue: 0, done: 0 };
  for (const task of state.tasks) counts[task.status] += 1;
  document.getElementById('sv-summary').textContent = t('sv.summary', counts);
  document.getElementById('empty').hidden = state.tasks.length > 0;
  const body = document.querySelector('#tasks tbody');
  body.replaceChildren(
    ...state.tasks.map((task) => {
      const row = el(
        'tr',
        { class: task.id === state.selected ? 'selected' : '', tabindex: '0', dataset: { id: task.id }, onclick: () => openTask(task.id), onkeydown: (e) => e.key === 'Enter' && openTask(task.id) },
        el('td', { class: 'num' }, String(task.id)),
        el('td', {}, el('div', { class: 'ind' }, task.indicator), el('div', { class: 'muted small sec' }, task.section)),
        el('td', { class: 'nowrap' }, task.target),
        el('td', { class: 'nowrap' }, actual(task)),
        el('td', {}, statusBadge(task.status), behindShort(task) ? el('div', { class: `small behind ${task.status}`, title: behind(task) }, behindShort(task)) : null),
        el('td', { class: 'dept' }, deptName(task.lead, true), task.co_departments.length ? el('div', { class: 'muted small' }, task.co_departments.map((c) => deptName(c, true)).join('、')) : null),
        el('td', { class: 'nowrap' }, task.deadline),
      );
      return row;
    }),
  );
}

function eventLine(event) {
  const kind = event.kind;
  const parts = [];
  if (kind.type === 'progress_reported') {
    parts.push(t('sv.ev.value', { value: kind.value }));
    if (kind.note) parts.push(kind.note);
    if (kind.evidence?.length) parts.push(kind.evidence.join('、'));
  } else if (kind.type === 'notice_issued') {
    parts.push(kind.note);
    if (kind.respond_by) parts.push(t('sv.ev.respond_by', { time: fmtTime(kind.respond_by) }));
  } else if (kind.type === 'edited') {
    parts.push(t('sv.ev.lead', { lead: deptName(kind.lead) }));
    if (kind.co_departments.length) parts.push(kind.co_departments.map(deptName).join('、'));
    parts.push(t('sv.ev.deadline', { deadline: kind.deadline }));
  } else if (kind.type === 'done') {
    parts.push(t('sv.ev.value', { value: kind.value }));
  } else if (kind.type === 'reminded') {
    parts.push(t(`sv.s.${kind.status}`));
    if (kind.reason) parts.push(kind.reason);
  }
  return el(
    'li',
    { class: `ev ev-${kind.type}` },
    el('div', { class: 'ev-head' }, el('strong', {}, t(`sv.ev.${kind.type}`)), el('span', { class: 'muted small' }, `${fmtTime(event.at)} · ${event.actor.person}`)),
    parts.length ? el('div', { class: 'small' }, parts.join(' · ')) : null,
  );
}

async function send(path, method, body, done) {
  try {
    await api(path, { method, body });
    toast(t(done), 'ok');
    await load();
  } catch (error) {
    // A reminder recorded by the sweep (or another desk) moved the task on: re-read it, so the
    // next submit carries its new version.
    if (error.code === 'version_conflict') {
      toast(t('sv.changed'), 'error');
      await load();
      if (state.selected) await openTask(state.selected);
      return;
    }
    showError(error);
  }
}

async function openTask(id, { reveal = false } = {}) {
  state.selected = id;
  for (const row of document.querySelectorAll('#tasks tbody tr')) row.classList.toggle('selected', Number(row.dataset.id) === id);
  const panel = document.getElementById('panel');
  let detail;
  try {
    detail = await api(`/api/supervision/tasks/${id}`);
  } catch (error) {
    showError(error);
    return;
  }
  const task = detail.task;
  const path = `/api/supervision/tasks/${id}`;
  const mayEdit = state.all;
  const leads = state.me.role === 'department_handler' && state.me.scope?.department === task.lead;
  const children = [
    el('div', { class: 'panel-top' }, el('h2', {}, `#${task.id} ${task.indicator}`), statusBadge(task.status)),
    el('p', { class: 'target' }, el('strong', {}, task.target), ' · ', t('sv.c.actual'), ' ', actual(task), ' · ', t('sv.c.deadline'), ' ', task.deadline),
    el('div', { class: 'bar', role: 'img', 'aria-label': t('sv.progress', { p: Math.round(task.progress_fraction * 100), e: Math.round(task.elapsed * 100) }) },
      el('div', { class: `bar-fill ${task.status}`, style: { width: `${Math.round(task.progress_fraction * 100)}%` } }),
      el('div', { class: 'bar-time', style: { left: `${Math.round(task.elapsed * 100)}%` } })),
    el('p', { class: `small behind ${task.status}` }, behind(task) || t('sv.progress', { p: Math.round(task.progress_fraction * 100), e: Math.round(task.elapsed * 100) })),
    el('p', { class: 'small' }, `${t('sv.c.lead')}：${deptName(task.lead)}`, task.co_departments.length ? ` · ${t('sv.c.co')}：${task.co_departments.map(deptName).join('、')}` : '', task.notices.length ? ` · ${t('sv.notices', { n: task.notices.length })}` : ''),
    el('h3', {}, t('sv.quote')),
    el('blockquote', { class: 'quote' }, task.quote),
    el('p', { class: 'muted small' }, task.section, el('br'), t('sv.report', { report: task.report, start: task.start, end: task.end })),
  ];
  if (leads) {
    const value = el('input', { type: 'number', step: 'any', required: true, id: 'p-value' });
    const evidence = el('textarea', { rows: 2, id: 'p-evidence' });
    const note = el('input', { id: 'p-note' });
    children.push(el('details', { class: 'act', open: true },
      el('summary', {}, t('sv.report.title')),
      el('label', { class: 'field' }, el('span', {}, t('sv.report.value', { unit: task.unit || '—' })), value),
      el('label', { class: 'field' }, el('span', {}, t('sv.report.evidence')), evidence),
      el('label', { class: 'field' }, el('span', {}, t('sv.report.note')), note),
      el('button', { type: 'button', class: 'primary', id: 'p-send', onclick: () => {
        if (value.value === '') { value.reportValidity(); return; }
        send(`${path}/progress`, 'POST', { value: Number(value.value), evidence: evidence.value.split('\n').map((s) => s.trim()).filter(Boolean), note: note.value, version: task.version }, 'sv.report.sent');
      } }, t('sv.report.send'))));
  }
  if (mayEdit) {
    const options = state.ref.departments.map((d) => [d.code, lang() === 'en' ? d.code : d.name]);
    const lead = el('select', { id: 'e-lead' }, el('option', { value: '' }, t('sv.unassigned')), ...options.map(([code, name]) => el('option', { value: code, selected: code === task.lead }, name)));
    const co = el('select', { id: 'e-co', multiple: true, size: 5 }, ...options.map(([code, name]) => el('option', { value: code, selected: task.co_departments.includes(code) }, name)));
    const deadline = el('input', { type: 'date', id: 'e-deadline', value: task.deadline });
    children.push(el('details', { class: 'act' },
      el('summary', {}, t('sv.edit')),
      el('label', { class: 'field' }, el('span', {}, t('sv.edit.lead')), lead),
      el('label', { class: 'field' }, el('span', {}, t('sv.edit.co')), co),
      el('label', { class: 'field' }, el('span', {}, t('sv.edit.deadline')), deadline),
      el('button', { type: 'button', onclick: () => send(path, 'PUT', { lead: lead.value, co_departments: [...co.selectedOptions].map((o) => o.value), deadline: deadline.value, version: task.version }, 'sv.edit.saved') }, t('sv.edit.save'))));
    const noticeNote = el('textarea', { rows: 2, id: 'n-note' });
    const days = el('input', { type: 'number', min: 0, max: 250, value: 5, id: 'n-days' });
    children.push(el('details', { class: 'act', open: task.status === 'at_risk' || task.status === 'overdue' },
      el('summary', {}, t('sv.notice.title')),
      el('label', { class: 'field' }, el('span', {}, t('sv.notice.note')), noticeNote),
      el('label', { class: 'field' }, el('span', {}, t('sv.notice.days')), days),
      el('button', { type: 'button', class: 'danger', id: 'n-send', onclick: () => send(`${path}/notices`, 'POST', { note: noticeNote.value, respond_within_working_days: Number(days.value || 0), version: task.version }, 'sv.notice.sent') }, t('sv.notice.send'))));
  }
  children.push(
    el('h3', {}, t('sv.history')),
    el('p', { class: `chain small ${detail.chain.ok ? 'ok' : 'bad'}` }, detail.chain.ok ? `✓ ${t('sv.chain.ok', { n: detail.chain.events })}` : `✗ ${t('sv.chain.bad', { problem: detail.chain.problem })}`),
    el('ol', { class: 'timeline' }, ...detail.history.map(eventLine)),
  );
  panel.replaceChildren(...children);
  // Opened from the reminders panel above the list: bring the task into view.
  if (reveal) panel.scrollIntoView({ block: 'start' });
}


// ---------------------------------------------------------------- reminders

function reminderReasons(reminder) {
  return (lang() === 'en' ? reminder.reasons_en : reminder.reasons_zh).join(lang() === 'en' ? '; ' : '；');
}

function drawReminders() {
  const count = document.getElementById('rem-count');
  count.textContent = String(state.reminders.length);
  count.hidden = state.reminders.length === 0;
  const list = document.getElementById('rem-list');
  document.getElementById('rem-rule').textContent = t('sv.rem.rule', { n: REMIND_EVERY_WORKING_DAYS });
  document.getElementById('rem-none').hidden = state.reminders.length > 0;
  list.replaceChildren(...state.reminders.map(reminderItem));
}

function reminderItem(reminder) {
  const task = reminder.task;
  const why = reminderReasons(reminder);
  const last = task.reminders.at(-1);
  const meta = [last ? t('sv.rem.auto', { n: task.reminders.length, time: fmtTime(last.at) }) : t('sv.rem.auto.none')];
  if (task.notices.length) meta.push(t('sv.rem.notices', { n: task.notices.length }));
  const item = el('li', { class: `rem rem-${task.status}`, dataset: { id: task.id } });
  const actions = el('div', { class: 'rem-actions' }, el('button', { type: 'button', class: 'rem-open', onclick: () => openTask(task.id, { reveal: true }) }, t('sv.rem.open')));
  const leads = state.me.role === 'department_handler' && state.me.scope?.department === task.lead;
  if (state.all) {
    const note = el('textarea', { rows: 2, class: 'rem-note' }, t('sv.rem.note', { days: 5, indicator: task.indicator, why }));
    const days = el('input', { type: 'number', min: 0, max: 250, value: 5, class: 'rem-days' });
    const form = el('div', { class: 'rem-form', hidden: true },
      el('label', { class: 'field' }, el('span', {}, t('sv.notice.note')), note),
      el('div', { class: 'rem-form-row' },
        el('label', { class: 'field' }, el('span', {}, t('sv.notice.days')), days),
        el('button', { type: 'button', class: 'danger rem-send', onclick: () => send(`/api/supervision/tasks/${task.id}/notices`, 'POST', { note: note.value, respond_within_working_days: Number(days.value || 0), version: task.version }, 'sv.notice.sent') }, t('sv.notice.send'))));
    actions.append(el('button', { type: 'button', class: 'danger rem-notice', onclick: () => { form.hidden = !form.hidden; if (!form.hidden) note.focus(); } }, t('sv.rem.notice')));
    item.append(rowOf(task, why, meta), actions, form);
  } else {
    if (leads) actions.append(el('button', { type: 'button', class: 'primary', onclick: () => openTask(task.id, { reveal: true }) }, t('sv.rem.report')));
    item.append(rowOf(task, why, meta), actions);
  }
  return item;
}

function rowOf(task, why, meta) {
  return el('div', { class: 'rem-main' },
    el('div', { class: 'rem-title' }, statusBadge(task.status), el('strong', {}, `#${task.id} ${task.indicator}`), el('span', { class: 'nowrap' }, task.target), el('span', { class: 'muted small' }, `${t('sv.c.lead')}：${deptName(task.lead, true)}`)),
    el('div', { class: `rem-why small ${task.status}` }, why),
    el('div', { class: 'muted small' }, meta.join(' · ')));
}

async function toggleReminders(show) {
  const panel = document.getElementById('reminders');
  const open = show === undefined ? panel.hidden : show;
  panel.hidden = !open;
  document.getElementById('btn-reminders').setAttribute('aria-expanded', String(open));
  if (!open) return;
  // Opened: read them again, the server's sweep may have recorded reminders since.
  try {
    state.reminders = await api('/api/supervision/reminders', { query: filters() });
    drawReminders();
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------- import

async function importRequest(preview) {
  const text = document.getElementById('i-text').value;
  const file = document.getElementById('i-file').files[0];
  const name = document.getElementById('i-name').value.trim();
  const year = document.getElementById('i-year').value.trim();
  if (!file && !text.trim()) throw new Error(t('sv.i.need'));
  const query = { preview: preview ? 'true' : '' };
  if (file) {
    const form = new FormData();
    form.append('file', file);
    if (name) form.append('name', name);
    if (year) form.append('year', year);
    return api('/api/supervision/import', { method: 'POST', form, query });
  }
  return api('/api/supervision/import', { method: 'POST', query, body: { text, name: name || undefined, year: year ? Number(year) : undefined } });
}

/** Text with the line ends the server shows as ⏎ drawn light, so that the words stand out. */
function withBreaks(text) {
  return text.split('⏎').flatMap((part, i) => (i ? [el('span', { class: 'nl' }, '⏎'), part] : [part]));
}

function stepItem(step, answer) {
  const excerpt = step.kind === 'encoding'
    ? el('div', { class: 'pv-excerpt' }, t('sv.i.encoding.converted', { encoding: answer.encoding }))
    : el('div', { class: 'pv-excerpt' },
      step.before ? el('span', { class: 'ctx' }, '…', ...withBreaks(step.before)) : null,
      el('del', {}, ...withBreaks(step.original)),
      step.replacement ? el('ins', {}, ...withBreaks(step.replacement)) : null,
      step.after ? el('span', { class: 'ctx' }, ...withBreaks(step.after), '…') : null,
      step.original_chars > 40 ? el('span', { class: 'muted small' }, ` ${t('sv.i.chars', { n: step.original_chars })}`) : null);
  return el('li', { class: `pv-step pv-${step.kind}`, title: step.text },
    el('div', { class: 'pv-step-head' },
      el('span', { class: 'pv-kind' }, t(`sv.k.${step.kind}`)),
      step.kind === 'encoding' ? null : el('span', { class: 'pv-pos' }, t('sv.i.pos', step))),
    excerpt,
    step.note ? el('div', { class: 'muted small pv-note' }, step.note) : null);
}

function periodLabel(item) {
  if (item.kind === 'achievement') return t('sv.i.achievement');
  if (/^\d{4}$/.test(item.period)) return t('sv.i.later', { period: item.period });
  if (item.period === 'this_year') return t('sv.i.this_year');
  return t('sv.i.plan', { period: item.period });
}

function previewView(answer) {
  const encoding = answer.converted
    ? el('p', { class: 'pv-encoding converted' }, '✓ ', t('sv.i.encoding.converted', { encoding: answer.encoding }))
    : el('p', { class: 'pv-encoding muted small' }, t('sv.i.encoding.utf8'));
  const th = (key) => el('th', {}, t(key));
  const suggested = (x) => x.lead ? [deptName(x.lead), x.co_departments.length ? el('div', { class: 'muted small' }, `（${x.co_departments.map((c) => deptName(c, true)).join('、')}）`) : null] : el('span', { class: 'muted' }, t('sv.unassigned'));
  return [
    el('p', { class: 'pv-summary' }, t('sv.i.found', { name: answer.name, year: answer.year, items: answer.items_found, n: answer.targets.length })),
    encoding,
    el('details', { class: 'pv-block', id: 'pv-steps', open: true },
      el('summary', {}, t('sv.i.steps', { n: answer.steps.length })),
      answer.steps.length
        ? el('ol', { class: 'pv-steps' }, ...answer.steps.map((step) => stepItem(step, answer)))
        : el('p', { class: 'muted small' }, t('sv.i.steps.none'))),
    el('details', { class: 'pv-block', id: 'pv-targets', open: true },
      el('summary', {}, t('sv.i.targets', { n: answer.targets.length })),
      el('div', { class: 'table-scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, th('sv.i.line'), th('sv.c.indicator'), th('sv.c.target'), th('sv.i.suggested'), th('sv.c.quote'))),
        el('tbody', {}, ...answer.targets.map((x) => el('tr', {},
          el('td', { class: 'num' }, String(x.line)),
          el('td', { class: 'ind' }, x.indicator),
          el('td', { class: 'nowrap' }, x.target),
          el('td', { class: 'dept' }, suggested(x)),
          el('td', { class: 'quote-cell' }, x.quote))))))),
    el('details', { class: 'pv-block', id: 'pv-others' },
      el('summary', {}, t('sv.i.others', { n: answer.others.length })),
      el('div', { class: 'table-scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, th('sv.i.line'), th('sv.i.kind'), th('sv.c.indicator'), th('sv.i.value'), th('sv.c.quote'))),
        el('tbody', {}, ...answer.others.map((x) => el('tr', {},
          el('td', { class: 'num' }, String(x.line)),
          el('td', { class: 'nowrap' }, periodLabel(x)),
          el('td', { class: 'ind' }, x.indicator),
          // An achievement or a plain value reads as written (60 家), a bound with its sign (≥ 60 家).
          el('td', { class: 'nowrap' }, x.cmp === '=' ? x.target.replace(/^≈\s*/, '') : x.target),
          el('td', { class: 'quote-cell' }, x.quote))))))),
  ];
}

async function previewImport() {
  const box = document.getElementById('i-preview');
  try {
    const answer = await importRequest(true);
    box.replaceChildren(...previewView(answer));
    document.getElementById('i-confirm').disabled = false;
  } catch (error) {
    if (error.status === undefined) toast(error.message, 'error');
    else showError(error);
  }
}

async function confirmImport() {
  try {
    const answer = await importRequest(false);
    toast(t('sv.i.done', { n: answer.task_ids.length }), 'ok');
    document.getElementById('import-dialog').close();
    await load();
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------- export and print

async function download(path) {
  try {
    const response = await api(path, { query: filters(), raw: true });
    const blob = await response.blob();
    const disposition = response.headers.get('Content-Disposition') || '';
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || path.split('/').pop();
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    toast(t('sv.exported', { name }), 'ok');
  } catch (error) {
    showError(error);
  }
}

function printView() {
  const view = document.getElementById('print-view');
  const cols = ['sv.c.id', 'sv.c.section', 'sv.c.indicator', 'sv.c.target', 'sv.c.actual', 'sv.c.status', 'sv.c.lead', 'sv.c.co', 'sv.c.deadline', 'sv.c.quote'];
  view.replaceChildren(
    el('h1', {}, t('sv.print.title')),
    el('p', { class: 'small' }, t('sv.print.note', { time: fmtTime(new Date(serverNow()).toISOString()) }), ' · ', document.getElementById('sv-summary').textContent),
    el('table', {},
      el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', {}, t(c))))),
      el('tbody', {}, ...state.tasks.map((x) => el('tr', {},
        el('td', {}, String(x.id)), el('td', {}, x.section), el('td', {}, x.indicator), el('td', {}, x.target), el('td', {}, actual(x)),
        el('td', {}, t(`sv.s.${x.status}`), behind(x) ? el('div', {}, behind(x)) : null), el('td', {}, deptName(x.lead)), el('td', {}, x.co_departments.map(deptName).join('、')),
        el('td', {}, x.deadline), el('td', { class: 'q' }, x.quote))))),
  );
  window.print();
}

// ---------------------------------------------------------------- start

async function start() {
  const me = await requireSignIn(['supervisor', 'commander', 'department_handler']);
  if (!me) return;
  state.me = me;
  state.all = me.role === 'supervisor' || me.role === 'commander';
  topBar(me, 'supervision');
  translatePage();
  state.ref = await reference();
  const dialog = document.getElementById('import-dialog');
  const importButton = document.getElementById('btn-import');
  importButton.hidden = !state.all;
  importButton.addEventListener('click', () => {
    document.getElementById('i-preview').replaceChildren();
    document.getElementById('i-confirm').disabled = true;
    dialog.showModal();
  });
  document.getElementById('i-cancel').addEventListener('click', () => dialog.close());
  document.getElementById('i-preview-btn').addEventListener('click', previewImport);
  document.getElementById('i-confirm').addEventListener('click', confirmImport);
  for (const id of ['i-text', 'i-file', 'i-year', 'i-name']) document.getElementById(id).addEventListener('input', () => { document.getElementById('i-confirm').disabled = true; });
  document.getElementById('btn-xlsx').addEventListener('click', () => download('/api/supervision/export.xlsx'));
  document.getElementById('btn-csv').addEventListener('click', () => download('/api/supervision/export.csv'));
  document.getElementById('btn-print').addEventListener('click', printView);
  document.getElementById('filters').addEventListener('change', load);
  document.getElementById('btn-reminders').addEventListener('click', () => toggleReminders());
  document.getElementById('rem-close').addEventListener('click', () => toggleReminders(false));
  await load();
}

start().catch(showError);
