// 考核统计: the KPI dashboard. Summary tiles and the trend come from GET /api/kpis/trend, the ranking
// chart and table from GET /api/kpis (both for the caller's visible cases only, optionally of one
// category), and "导出 Excel" downloads GET /api/kpis/export.xlsx for exactly what is shown: the
// grouping, window, trend bucket, category, the table's rows in the table's order, in the page's
// language. Every formula: docs/kpis.md.
import { addStrings, api, el, escapeHtml, fmtTime, homeFor, lang, requireSignIn, showError, t, toast, topBar, translatePage } from '/ui/common.js';

addStrings({
  zh: {
    'kpi.title': '考核统计',
    'kpi.tiles': '窗口汇总',
    'kpi.by': '分组',
    'kpi.by.street': '街道',
    'kpi.by.community': '社区',
    'kpi.by.cell': '网格',
    'kpi.by.department': '部门',
    'kpi.by.category': '类别',
    'kpi.category': '类别',
    'kpi.category.all': '全部类别',
    'kpi.category.major': '{code} {name}（全部小类）',
    'kpi.category.shown': '类别：{name}',
    'kpi.days': '统计窗口',
    'kpi.days.7': '近 7 天',
    'kpi.days.30': '近 30 天',
    'kpi.days.90': '近 90 天',
    'kpi.days.365': '近一年',
    'kpi.interval': '趋势',
    'kpi.interval.day': '按日',
    'kpi.interval.week': '按周',
    'kpi.export': '导出 Excel',
    'kpi.exporting': '正在导出…',
    'kpi.exported': '已导出 {name}',
    'kpi.window': '{from} 至 {to}（北京时间）上报的案件 · 只统计您有权查看的案件',
    'kpi.f.reported': '上报',
    'kpi.f.accepted': '立案',
    'kpi.f.closed': '结案',
    'kpi.f.overdue': '超期',
    'kpi.f.closure_rate': '结案率',
    'kpi.f.on_time_handling_rate': '按期处置率',
    'kpi.f.rework_rate': '返工率',
    'kpi.f.mean_handling_hours': '平均处置时长',
    'kpi.f.response_rate': '响应率',
    'kpi.f.solution_rate': '解决率',
    'kpi.f.satisfaction_rate': '满意率',
    'kpi.unit.cases': '件',
    'kpi.unit.hours': '工作小时',
    'kpi.col.mean_handling_hours': '平均处置时长（小时）',
    'kpi.sub.reported': '其中立案 {accepted} 件',
    'kpi.sub.closure_rate': '结案 {closed} / 立案 {accepted}',
    'kpi.sub.on_time_handling_rate': '按期 {handled_on_time} / 处置 {handled}',
    'kpi.sub.rework_rate': '返工 {reworked} / 核查 {verified}',
    'kpi.sub.satisfaction_rate': '满意 {satisfied} / 评价 {rated}',
    'kpi.sub.overdue': '当前环节已过时限、尚未办结',
    'kpi.trend.title': '趋势',
    'kpi.trend.note': '每个时段统计该时段内上报的案件，按当前状态计算',
    'kpi.trend.aria': '趋势图：上报与结案件数，结案率与按期处置率',
    'kpi.trend.week_of': '{date} 起一周',
    'kpi.axis.cases': '件数',
    'kpi.axis.rate': '比率',
    'kpi.rank.title': '排名',
    'kpi.rank.kpi': '排名指标',
    'kpi.rank.order': '顺序',
    'kpi.rank.desc': '由高到低',
    'kpi.rank.asc': '由低到高',
    'kpi.rank.aria': '各组排名柱状图',
    'kpi.rank.shown': '显示 {shown} 个组，共 {total} 个',
    'kpi.rank.all': '共 {total} 个组',
    'kpi.rank.left_out': '；{n} 个组没有可计算的案件，未列入',
    'kpi.table.title': '各组指标',
    'kpi.table.note': '点击列标题排序，导出 Excel 按表格的顺序；比率保留一位小数，“—”表示没有可计算的案件。',
    'kpi.table.rank': '序号',
    'kpi.table.name': '名称',
    'kpi.table.sort': '按{name}排序',
    'kpi.table.sort_code': '按代码排序（区划、类别的编码顺序）',
    'kpi.empty': '这段时间没有您可查看的案件。',
    'kpi.dept.grid': '网格自处置',
    'kpi.dept.unassigned': '未派遣',
  },
  en: {
    'kpi.title': 'KPIs',
    'kpi.tiles': 'Window summary',
    'kpi.by': 'Group by',
    'kpi.by.street': 'Street',
    'kpi.by.community': 'Community',
    'kpi.by.cell': 'Cell',
    'kpi.by.department': 'Department',
    'kpi.by.category': 'Category',
    'kpi.category': 'Category',
    'kpi.category.all': 'All categories',
    'kpi.category.major': '{code} {name} (all)',
    'kpi.category.shown': 'Category: {name}',
    'kpi.days': 'Window',
    'kpi.days.7': '7 days',
    'kpi.days.30': '30 days',
    'kpi.days.90': '90 days',
    'kpi.days.365': '1 year',
    'kpi.interval': 'Trend',
    'kpi.interval.day': 'Daily',
    'kpi.interval.week': 'Weekly',
    'kpi.export': 'Export Excel',
    'kpi.exporting': 'Exporting…',
    'kpi.exported': 'Saved {name}',
    'kpi.window': 'Cases reported {from} to {to} (China time) · only the cases you may see',
    'kpi.f.reported': 'Reported',
    'kpi.f.accepted': 'Accepted',
    'kpi.f.closed': 'Closed',
    'kpi.f.overdue': 'Overdue',
    'kpi.f.closure_rate': 'Closure rate',
    'kpi.f.on_time_handling_rate': 'On-time handling',
    'kpi.f.rework_rate': 'Rework rate',
    'kpi.f.mean_handling_hours': 'Mean handling time',
    'kpi.f.response_rate': 'Response rate',
    'kpi.f.solution_rate': 'Solution rate',
    'kpi.f.satisfaction_rate': 'Satisfaction',
    'kpi.unit.cases': 'cases',
    'kpi.unit.hours': 'working h',
    'kpi.col.mean_handling_hours': 'Mean handling (h)',
    'kpi.sub.reported': '{accepted} accepted',
    'kpi.sub.closure_rate': '{closed} closed / {accepted} accepted',
    'kpi.sub.on_time_handling_rate': '{handled_on_time} on time / {handled} handled',
    'kpi.sub.rework_rate': '{reworked} reworked / {verified} verified',
    'kpi.sub.satisfaction_rate': '{satisfied} satisfied / {rated} rated',
    'kpi.sub.overdue': 'open and past the stage deadline',
    'kpi.trend.title': 'Trend',
    'kpi.trend.note': 'Each period counts the cases reported in it, as they stand now',
    'kpi.trend.aria': 'Trend chart: cases reported and closed, closure and on-time handling rates',
    'kpi.trend.week_of': 'week of {date}',
    'kpi.axis.cases': 'Cases',
    'kpi.axis.rate': 'Rate',
    'kpi.rank.title': 'Ranking',
    'kpi.rank.kpi': 'Rank by',
    'kpi.rank.order': 'Order',
    'kpi.rank.desc': 'Highest first',
    'kpi.rank.asc': 'Lowest first',
    'kpi.rank.aria': 'Ranking bar chart of the groups',
    'kpi.rank.shown': '{shown} of {total} groups shown',
    'kpi.rank.all': '{total} groups',
    'kpi.rank.left_out': '; {n} without cases to compute it are left out',
    'kpi.table.title': 'KPIs by group',
    'kpi.table.note': 'Click a column heading to sort; the Excel export keeps the table’s order. Rates to one decimal; “—” means there is nothing to compute it from.',
    'kpi.table.rank': '#',
    'kpi.table.name': 'Name',
    'kpi.table.sort': 'Sort by {name}',
    'kpi.table.sort_code': 'Sort by code (the order of area and category codes)',
    'kpi.empty': 'No cases you may see were reported in this window.',
    'kpi.dept.grid': 'Settled in the grid',
    'kpi.dept.unassigned': 'Not dispatched',
  },
});

const ROLES = ['commander', 'supervisor', 'dispatcher', 'department_handler'];
const GROUPINGS = ['street', 'community', 'cell', 'department', 'category'];
const WINDOWS = ['7', '30', '90', '365'];
const INTERVALS = ['day', 'week'];

/** How each figure is shown. */
const KIND = {
  reported: 'count',
  accepted: 'count',
  closed: 'count',
  overdue: 'count',
  closure_rate: 'rate',
  on_time_handling_rate: 'rate',
  rework_rate: 'rate',
  mean_handling_hours: 'hours',
  response_rate: 'rate',
  solution_rate: 'rate',
  satisfaction_rate: 'rate',
};
const TABLE_COLUMNS = Object.keys(KIND);
const TILES = ['reported', 'closure_rate', 'on_time_handling_rate', 'rework_rate', 'satisfaction_rate', 'overdue'];
const RANK_KPIS = ['closure_rate', 'on_time_handling_rate', 'response_rate', 'satisfaction_rate', 'solution_rate', 'rework_rate', 'overdue', 'reported', 'mean_handling_hours'];
/** Figures where a lower value is the better one (their ranking starts from the lowest). */
const LOWER_IS_BETTER = new Set(['rework_rate', 'overdue', 'mean_handling_hours']);
const RANK_LIMIT = 20;

const COLOUR = {
  reported: '#0b4f8a',
  closed: '#2f9e5b',
  closure: '#d97706',
  onTime: '#7c3aed',
  rank: '#0b4f8a',
  rankLow: '#c2410c',
  axis: '#52606d',
  grid: '#e4e9f0',
};

// ---------------------------------------------------------------- formatting

const numberFormat = new Intl.NumberFormat(lang() === 'en' ? 'en-GB' : 'zh-CN');

export function fmtFigure(kind, value) {
  if (value === null || value === undefined) return '—';
  if (kind === 'rate') return `${(value * 100).toFixed(1)}%`;
  if (kind === 'hours') return value.toFixed(1);
  return numberFormat.format(value);
}

function columnName(field) {
  return KIND[field] === 'hours' ? t('kpi.col.mean_handling_hours') : t(`kpi.f.${field}`);
}

function groupName(row, by) {
  if (row.name) return row.name;
  if (by === 'department' && (row.key === 'grid' || row.key === 'unassigned')) return t(`kpi.dept.${row.key}`);
  return row.key;
}

// ---------------------------------------------------------------- state

const params = new URLSearchParams(location.search);
const pick = (value, allowed, fallback) => (allowed.includes(value) ? value : fallback);
const SORT_FIELDS = ['name', ...TABLE_COLUMNS];
const state = {
  by: pick(params.get('by'), GROUPINGS, 'street'),
  days: pick(params.get('days'), WINDOWS, '30'),
  interval: pick(params.get('interval'), INTERVALS, 'day'),
  // Checked against the taxonomy once it is loaded.
  category: params.get('category') || '',
  rank: pick(params.get('rank'), RANK_KPIS, 'closure_rate'),
  order: pick(params.get('order'), ['asc', 'desc'], 'desc'),
  // {field, dir}; null: the ranking's order.
  sort: SORT_FIELDS.includes(params.get('sort')) ? { field: params.get('sort'), dir: pick(params.get('dir'), ['asc', 'desc'], 'desc') } : null,
};
let rows = [];
let rowsBy = state.by;
let trend = null;
/** The taxonomy: code → {code, name, major_name}, majors as code → name. */
const categories = { byCode: new Map(), majors: new Map() };

function remember() {
  const query = new URLSearchParams({ by: state.by, days: state.days, interval: state.interval });
  if (state.category) query.set('category', state.category);
  query.set('rank', state.rank);
  query.set('order', state.order);
  if (state.sort) {
    query.set('sort', state.sort.field);
    query.set('dir', state.sort.dir);
  }
  history.replaceState(null, '', `${location.pathname}?${query}`);
}

/** The chosen category as 「Z99 建议提案」, or null for every category. */
function categoryName(code = state.category) {
  if (!code) return null;
  const name = code.length === 3 ? categories.majors.get(code) : categories.byCode.get(code)?.name;
  return name ? `${code} ${name}` : code;
}

// ---------------------------------------------------------------- tiles

function renderTiles() {
  const box = document.getElementById('tiles');
  const total = trend?.total;
  box.replaceChildren(
    ...TILES.map((field) => {
      const kind = KIND[field];
      const value = total ? total[field] : null;
      const alarm = field === 'overdue' && value > 0;
      return el(
        'div',
        { class: `tile ${alarm ? 'alarm' : ''} tile-${kind}`, dataset: { kpi: field } },
        el('div', { class: 'tile-label' }, t(`kpi.f.${field}`)),
        el(
          'div',
          { class: 'tile-value' },
          total ? fmtFigure(kind, value) : '…',
          kind === 'count' && total ? el('span', { class: 'tile-unit' }, t('kpi.unit.cases')) : null,
        ),
        el('div', { class: 'tile-sub' }, total ? t(`kpi.sub.${field}`, total) : ''),
      );
    }),
  );
}

// ---------------------------------------------------------------- charts

const fontFamily = getComputedStyle(document.body).fontFamily;
let trendChart;
let rankChart;

function chartText(size = 12) {
  return { fontFamily, fontSize: size, color: COLOUR.axis };
}

function wall() {
  return window.innerWidth >= 1800;
}

/**
 * How much larger than at 1920 px a wall shows everything: kpi.css sets the root font size in
 * proportion to the width on walls (16 px at 1920, 32 px at 3840), and the charts follow it.
 */
function zoom() {
  if (!wall()) return 1;
  return Math.max(1, parseFloat(getComputedStyle(document.documentElement).fontSize) / 16);
}

/** A chart dimension in px, scaled for the wall. */
function px(n) {
  return Math.round(n * zoom());
}

function renderTrend() {
  if (!trend) return;
  const points = trend.points;
  const week = trend.interval === 'week';
  const labels = points.map((p) => (week ? t('kpi.trend.week_of', { date: p.label.slice(5) }) : p.label.slice(5)));
  const percent = (value) => (value === null || value === undefined ? null : Math.round(value * 1000) / 10);
  const many = points.length > 45;
  const size = wall() ? px(15) : 12;
  trendChart.setOption(
    {
      animationDuration: 300,
      textStyle: { fontFamily },
      color: [COLOUR.reported, COLOUR.closed, COLOUR.closure, COLOUR.onTime],
      legend: { top: 0, left: 0, itemWidth: px(14), itemHeight: px(10), itemGap: px(10), textStyle: chartText(size) },
      grid: { left: px(8), right: px(8), top: px(56), bottom: many ? px(44) : px(8), containLabel: true },
      tooltip: {
        trigger: 'axis',
        axisPointer: { type: 'shadow' },
        textStyle: { fontFamily },
        valueFormatter: (value) => (value === null || value === undefined ? '—' : String(value)),
        formatter: (items) => {
          const point = points[items[0]?.dataIndex];
          if (!point) return '';
          const head = `${fmtTime(point.start)} – ${fmtTime(point.end)}`;
          const lines = [
            [t('kpi.f.reported'), fmtFigure('count', point.reported), COLOUR.reported],
            [t('kpi.f.closed'), fmtFigure('count', point.closed), COLOUR.closed],
            [t('kpi.f.closure_rate'), fmtFigure('rate', point.closure_rate), COLOUR.closure],
            [t('kpi.f.on_time_handling_rate'), fmtFigure('rate', point.on_time_handling_rate), COLOUR.onTime],
            [t('kpi.f.overdue'), fmtFigure('count', point.overdue), '#c62828'],
            [t('kpi.f.satisfaction_rate'), fmtFigure('rate', point.satisfaction_rate), '#64748b'],
          ];
          return `<div style="font-weight:600;margin-bottom:4px">${head}</div>${lines
            .map(([name, value, colour]) => `<div style="display:flex;gap:12px;justify-content:space-between"><span><span style="display:inline-block;width:8px;height:8px;border-radius:50%;background:${colour};margin-right:6px"></span>${name}</span><b>${value}</b></div>`)
            .join('')}`;
        },
      },
      xAxis: {
        type: 'category',
        data: labels,
        axisLabel: { ...chartText(size), hideOverlap: true },
        axisLine: { lineStyle: { color: '#9aa5b1' } },
        axisTick: { alignWithLabel: true },
      },
      yAxis: [
        {
          type: 'value',
          name: t('kpi.axis.cases'),
          nameTextStyle: chartText(size),
          minInterval: 1,
          axisLabel: chartText(size),
          splitLine: { lineStyle: { color: COLOUR.grid } },
        },
        {
          type: 'value',
          name: t('kpi.axis.rate'),
          nameTextStyle: chartText(size),
          min: 0,
          max: 100,
          interval: 25,
          axisLabel: { ...chartText(size), formatter: '{value}%' },
          splitLine: { show: false },
        },
      ],
      dataZoom: many
        ? [
            { type: 'inside', startValue: Math.max(0, points.length - 60) },
            { type: 'slider', height: px(18), bottom: px(6), startValue: Math.max(0, points.length - 60), textStyle: chartText(wall() ? px(11) : 11) },
          ]
        : [],
      series: [
        { name: t('kpi.f.reported'), type: 'bar', data: points.map((p) => p.reported), barMaxWidth: px(18), itemStyle: { borderRadius: [3, 3, 0, 0] } },
        { name: t('kpi.f.closed'), type: 'bar', data: points.map((p) => p.closed), barMaxWidth: px(18), itemStyle: { borderRadius: [3, 3, 0, 0] } },
        {
          name: t('kpi.f.closure_rate'),
          type: 'line',
          yAxisIndex: 1,
          data: points.map((p) => percent(p.closure_rate)),
          smooth: false,
          showSymbol: !many,
          symbolSize: px(5),
          connectNulls: false,
          lineStyle: { width: 2.5 * zoom() },
        },
        {
          name: t('kpi.f.on_time_handling_rate'),
          type: 'line',
          yAxisIndex: 1,
          data: points.map((p) => percent(p.on_time_handling_rate)),
          smooth: false,
          showSymbol: !many,
          symbolSize: px(5),
          connectNulls: false,
          lineStyle: { width: 2 * zoom(), type: 'dashed' },
        },
      ],
      graphic: points.every((p) => p.reported === 0)
        ? [{ type: 'text', left: 'center', top: 'middle', style: { text: t('kpi.empty'), fill: COLOUR.axis, font: `${size + 2}px ${fontFamily}` } }]
        : [],
    },
    { notMerge: true },
  );
}

/**
 * The order of the rows, exactly as the server's `RowOrder` (docs/kpis.md §6) so that the workbook
 * lists them as the table does: by a figure in the direction asked, ties to the group with more
 * cases and then by code, groups without the figure last (by code) either way; `name` sorts by the
 * code.
 */
function compareRows(a, b, { field, dir }) {
  const byKey = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  const sign = dir === 'asc' ? 1 : -1;
  if (field === 'name') return sign * byKey;
  const x = a.figures[field];
  const y = b.figures[field];
  const missingX = x === null || x === undefined;
  const missingY = y === null || y === undefined;
  if (missingX || missingY) return missingX === missingY ? byKey : missingX ? 1 : -1;
  return sign * Math.sign(x - y) || b.figures.reported - a.figures.reported || byKey;
}

/** The groups that have the figure, ordered as the ranking control says, best first by default. */
function ranked() {
  const field = state.rank;
  return rows
    .filter((row) => row.figures[field] !== null && row.figures[field] !== undefined)
    .sort((a, b) => compareRows(a, b, { field, dir: state.order }));
}

function renderRank() {
  const field = state.rank;
  const kind = KIND[field];
  const all = ranked();
  const shown = all.slice(0, RANK_LIMIT);
  const size = wall() ? px(15) : 12;
  const scale = kind === 'rate' ? 100 : 1;
  const leftOut = rows.length - all.length;
  let note = shown.length < all.length ? t('kpi.rank.shown', { shown: shown.length, total: all.length }) : t('kpi.rank.all', { total: all.length });
  if (leftOut > 0) note += t('kpi.rank.left_out', { n: leftOut });
  document.getElementById('rank-note').textContent = rows.length ? note : '';
  const colour = LOWER_IS_BETTER.has(field) ? COLOUR.rankLow : COLOUR.rank;
  rankChart.setOption(
    {
      animationDuration: 300,
      textStyle: { fontFamily },
      grid: { left: px(8), right: wall() ? px(84) : 60, top: px(8), bottom: px(8), containLabel: true },
      tooltip: {
        trigger: 'item',
        textStyle: { fontFamily },
        formatter: (item) => `${escapeHtml(item.name)}<br><b>${t(`kpi.f.${field}`)} ${fmtFigure(kind, shown[item.dataIndex]?.figures[field])}</b>`,
      },
      xAxis: {
        type: 'value',
        max: kind === 'rate' ? 100 : null,
        minInterval: kind === 'count' ? 1 : null,
        axisLabel: { ...chartText(size), formatter: kind === 'rate' ? '{value}%' : '{value}' },
        splitLine: { lineStyle: { color: COLOUR.grid } },
      },
      yAxis: {
        type: 'category',
        inverse: true,
        data: shown.map((row) => groupName(row, rowsBy)),
        axisLabel: { ...chartText(wall() ? px(14) : 12), color: '#1f2933', width: wall() ? px(200) : 128, overflow: 'truncate', interval: 0 },
        axisTick: { show: false },
        axisLine: { lineStyle: { color: '#9aa5b1' } },
      },
      series: [
        {
          type: 'bar',
          data: shown.map((row) => Math.round(row.figures[field] * scale * 10) / 10),
          barMaxWidth: px(16),
          itemStyle: { color: colour, borderRadius: [0, 3, 3, 0] },
          label: {
            show: true,
            position: 'right',
            ...chartText(size - 1),
            color: '#1f2933',
            formatter: (item) => fmtFigure(kind, shown[item.dataIndex]?.figures[field]),
          },
        },
      ],
      graphic: shown.length
        ? []
        : [{ type: 'text', left: 'center', top: 'middle', style: { text: t('kpi.empty'), fill: COLOUR.axis, font: `${size + 2}px ${fontFamily}` } }],
    },
    { notMerge: true },
  );
}

// ---------------------------------------------------------------- table

function sortedRows() {
  const sort = currentSort();
  return [...rows].sort((a, b) => compareRows(a, b, sort));
}

function currentSort() {
  return state.sort || { field: state.rank, dir: state.order };
}

function sortBy(field) {
  const now = currentSort();
  if (now.field === field) state.sort = { field, dir: now.dir === 'asc' ? 'desc' : 'asc' };
  else state.sort = { field, dir: field === 'name' ? 'asc' : 'desc' };
  remember();
  renderTable();
  document.querySelector(`#kpi-table th[data-field="${field}"] button`)?.focus();
}

function renderTable() {
  const table = document.getElementById('kpi-table');
  const sort = currentSort();
  const header = (field, label, numeric) => {
    const active = sort.field === field;
    const ariaSort = active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none';
    return el(
      'th',
      { class: `${numeric ? 'num' : ''} ${active ? 'sorted' : ''}`, scope: 'col', 'aria-sort': ariaSort, dataset: { field } },
      el(
        'button',
        { type: 'button', class: 'sort', title: field === 'name' ? t('kpi.table.sort_code') : t('kpi.table.sort', { name: label }), onclick: () => sortBy(field) },
        el('span', {}, label),
        el('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'),
      ),
    );
  };
  table.tHead.replaceChildren(
    el(
      'tr',
      {},
      el('th', { class: 'num rank', scope: 'col' }, t('kpi.table.rank')),
      header('name', t('kpi.table.name'), false),
      TABLE_COLUMNS.map((field) => header(field, columnName(field), true)),
    ),
  );
  const body = table.tBodies[0];
  if (!rows.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: TABLE_COLUMNS.length + 2, class: 'empty muted' }, t('kpi.empty'))));
    return;
  }
  body.replaceChildren(
    ...sortedRows().map((row, index) =>
      el(
        'tr',
        { dataset: { key: row.key } },
        el('td', { class: 'num rank muted' }, String(index + 1)),
        el('th', { scope: 'row', class: 'name' }, el('span', { class: 'group' }, groupName(row, rowsBy)), el('span', { class: 'code mono' }, row.key)),
        TABLE_COLUMNS.map((field) => {
          const value = row.figures[field];
          const alarm = field === 'overdue' && value > 0;
          return el('td', { class: `num ${alarm ? 'alarm' : ''} ${sort.field === field ? 'sorted' : ''}`, dataset: { field } }, fmtFigure(KIND[field], value));
        }),
      ),
    ),
  );
}

// ---------------------------------------------------------------- loading

let rowsRequest = 0;
let trendRequest = 0;

function busy(part, on) {
  const main = document.querySelector('main.kpi');
  main.classList.toggle(`busy-${part}`, on);
  main.setAttribute('aria-busy', String(main.classList.contains('busy-rows') || main.classList.contains('busy-trend')));
}

async function loadRows() {
  const mine = ++rowsRequest;
  busy('rows', true);
  try {
    const answer = await api('/api/kpis', { query: { by: state.by, days: state.days, category: state.category } });
    if (mine !== rowsRequest) return;
    rows = answer;
    rowsBy = state.by;
    renderRank();
    renderTable();
  } catch (error) {
    if (mine === rowsRequest) showError(error);
  } finally {
    if (mine === rowsRequest) busy('rows', false);
  }
}

async function loadTrend() {
  const mine = ++trendRequest;
  busy('trend', true);
  try {
    const answer = await api('/api/kpis/trend', { query: { days: state.days, interval: state.interval, category: state.category } });
    if (mine !== trendRequest) return;
    trend = answer;
    document.getElementById('window-text').textContent = t('kpi.window', { from: fmtTime(trend.from), to: fmtTime(trend.to) });
    const shown = categoryName(trend.category);
    const badge = document.getElementById('category-shown');
    badge.textContent = shown ? t('kpi.category.shown', { name: shown }) : '';
    badge.hidden = !shown;
    renderTiles();
    renderTrend();
  } catch (error) {
    if (mine === trendRequest) showError(error);
  } finally {
    if (mine === trendRequest) busy('trend', false);
  }
}

/** Fills the category picker: every category, then each major class with its subcategories. */
async function loadCategories() {
  const select = document.getElementById('category');
  try {
    for (const category of await api('/api/categories')) {
      categories.byCode.set(category.code, category);
      const major = category.code.slice(0, 3);
      if (!categories.majors.has(major)) categories.majors.set(major, category.major_name);
    }
  } catch (error) {
    showError(error);
  }
  const groups = [...categories.majors].map(([major, name]) =>
    el(
      'optgroup',
      { label: `${major} ${name}` },
      el('option', { value: major }, t('kpi.category.major', { code: major, name })),
      [...categories.byCode.values()].filter((c) => c.code.startsWith(major)).map((c) => el('option', { value: c.code }, `${c.code} ${c.name}`)),
    ),
  );
  select.replaceChildren(el('option', { value: '' }, t('kpi.category.all')), ...groups);
  if (!categories.byCode.has(state.category) && !categories.majors.has(state.category)) state.category = '';
  select.value = state.category;
}

// ---------------------------------------------------------------- export

function filenameOf(response) {
  const disposition = response.headers.get('Content-Disposition') || '';
  return disposition.match(/filename="?([^";]+)"?/)?.[1];
}

async function exportWorkbook() {
  const button = document.getElementById('export');
  const label = button.querySelector('[data-i18n]');
  button.disabled = true;
  label.textContent = t('kpi.exporting');
  try {
    // The download needs the bearer token, so it is fetched here and saved through an object URL.
    // Exactly what is shown: the table's rows in the table's order, the category, the page's language.
    const sort = currentSort();
    const query = {
      by: state.by,
      days: state.days,
      trend: state.interval,
      category: state.category,
      sort: sort.field === 'name' ? 'key' : sort.field,
      dir: sort.dir,
      lang: lang(),
    };
    const response = await api('/api/kpis/export.xlsx', { query, raw: true });
    const blob = await response.blob();
    const name = filenameOf(response) || `onegrid-kpi-${state.by}-${state.days}d.xlsx`;
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: name, class: 'hidden' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    toast(t('kpi.exported', { name }), 'ok');
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    label.textContent = t('kpi.export');
  }
}

// ---------------------------------------------------------------- start

// The controls show the address's choices at once, before anything is fetched (the category
// picker once the taxonomy is loaded).
const controls = document.getElementById('controls');
controls.elements.by.value = state.by;
controls.elements.days.value = state.days;
controls.elements.interval.value = state.interval;

const rankSelect = document.getElementById('rank-kpi');
rankSelect.replaceChildren(...RANK_KPIS.map((field) => el('option', { value: field }, t(`kpi.f.${field}`))));
rankSelect.value = state.rank;
const orderSelect = document.getElementById('rank-order');
orderSelect.value = state.order;

// /api/me answers {person, expires_at} while requireSignIn hands the answer on as it is: read the
// account from either shape and check the role here.
const answer = await requireSignIn();
const me = answer?.person ?? answer;
if (!ROLES.includes(me?.role)) {
  location.href = homeFor(me?.role);
  await new Promise(() => {});
}
topBar(me, 'kpi');
translatePage();
await loadCategories();

trendChart = echarts.init(document.getElementById('trend-chart'));
rankChart = echarts.init(document.getElementById('rank-chart'));
const resize = () => {
  trendChart.resize();
  rankChart.resize();
};
const observer = new ResizeObserver(resize);
document.querySelectorAll('.chart').forEach((node) => observer.observe(node));
let wasZoom = `${wall()} ${zoom()}`;
window.addEventListener('resize', () => {
  // Font sizes of the charts follow the screen (a wall display gets larger text).
  if (`${wall()} ${zoom()}` !== wasZoom) {
    wasZoom = `${wall()} ${zoom()}`;
    renderTrend();
    renderRank();
  }
});

controls.addEventListener('change', (event) => {
  const { name, value } = event.target;
  if (!['by', 'days', 'interval', 'category'].includes(name)) return;
  state[name] = value;
  if (name === 'by') state.sort = null;
  remember();
  if (name === 'by') loadRows();
  else if (name === 'interval') loadTrend();
  else {
    loadRows();
    loadTrend();
  }
});
rankSelect.addEventListener('change', () => {
  state.rank = rankSelect.value;
  state.order = LOWER_IS_BETTER.has(state.rank) ? 'asc' : 'desc';
  orderSelect.value = state.order;
  state.sort = null;
  remember();
  renderRank();
  renderTable();
});
orderSelect.addEventListener('change', () => {
  state.order = orderSelect.value;
  state.sort = null;
  remember();
  renderRank();
  renderTable();
});
document.getElementById('export').addEventListener('click', exportWorkbook);

renderTiles();
renderTable();
remember();
await Promise.all([loadRows(), loadTrend()]);

// On a wall display the page stays open: refresh every five minutes while it is visible.
setInterval(() => {
  if (document.visibilityState === 'visible') {
    loadRows();
    loadTrend();
  }
}, 5 * 60 * 1000);
