// Case desk (受理 / 派遣 / 处置): the queue of cases the account must act on, sorted by deadline, and
// the case page with its facts, photos, map inset, history timeline, suggested duplicates and one
// button per command the server allows now. Opened from the queue or by `#case=<id>`. Dispatchers
// and the command center also register proposals (建议提案) here (docs/supervision.md, "Proposals").
import {
  addStrings, api, ApiFailure, COLOURS, districtMap, el, pinOnClickOrEnter, fmtDeadline, fmtTime, homeFor, syncClock, reference, requireSignIn,
  serverNow, showError, stateName, t, toast, token, topBar, translatePage, uiConfig,
} from '/ui/common.js';
import { errorSentence, featureAt } from '/ui/report-form.js';

addStrings({
  zh: {
    'desk.title': '案件受理',
    'desk.queue': '待办案件',
    'desk.scope': '案件范围',
    'desk.scope.open': '办理中',
    'desk.scope.finished': '已结案/不予受理',
    'desk.scope.all': '全部',
    'desk.search': '搜索标题或描述',
    'desk.category_filter': '按类别筛选',
    'desk.all_categories': '全部类别',
    'desk.count': '共 {n} 件',
    'desk.count_red': '，超期 {n} 件',
    'desk.queue_empty': '没有符合条件的案件。',
    'desk.queue_loading': '正在加载案件…',
    'desk.more': '再显示 {n} 件（共 {total} 件）',
    'desk.case': '案件详情',
    'desk.pick': '从左侧列表选择一件案件，或在其他页面点击案件编号进入。',
    'desk.back': '← 返回列表',
    'desk.loading_case': '正在加载案件 #{id}…',
    'desk.no_deadline': '无时限',
    'desk.due_at': '{stage}时限 {time}',
    'desk.updated': '{time} 更新',
    'desk.no_actions': '您对本案暂无可办理的操作。',
    'desk.actions': '可办理的操作',
    'desk.facts': '基本信息',
    'desk.description': '事件描述',
    'desk.no_description': '（没有描述）',
    'desk.expand': '展开全文',
    'desk.collapse': '收起',
    'desk.photos': '上报照片',
    'desk.evidence': '处置证据',
    'desk.photo': '照片',
    'desk.photo_n': '查看照片 {n}',
    'desk.photo_failed': '照片无法加载',
    'desk.map': '位置',
    'desk.map_label': '案件位置和所在网格',
    'desk.map_loading': '正在加载网格边界…',
    'desk.no_point': '上报时没有定位点，图中为所在网格。',
    'desk.no_cell_shape': '没有找到这个网格的边界。',
    'desk.history': '办理过程',
    'desk.chain_ok': '留痕完整，哈希链校验通过',
    'desk.chain_bad': '留痕校验未通过：历史记录与哈希链不符，可能被篡改，请立即联系管理员',
    'desk.duplicates': '疑似重复案件',
    'desk.no_duplicates': '没有发现疑似重复的案件。',
    'desk.duplicates_loading': '正在查找疑似重复…',
    'desk.similarity': '相似度 {n}%',
    'desk.distance': '相距 {n} 米',
    'desk.hours_apart': '间隔 {n} 小时',
    'desk.merge_here': '将本案合并到 #{id}',
    'desk.sending': '正在提交…',
    'desk.uploading': '正在上传照片 {i}/{n}…',
    'desk.done': '已完成：{what}',
    'desk.returned_away': '已退回 #{id}：案件回到受理员，不再在您的待办中。',
    'desk.refresh_case': '刷新案件',
    'desk.you': '（您）',
    'desk.hidden': '（不可见）',
    'fact.category': '类别',
    'fact.cell': '网格',
    'fact.address': '地址',
    'fact.reported_short': '{time} 上报',
    'fact.tier_reason': '层级原因：{reason}',
    'fact.department': '主办部门',
    'fact.co_departments': '协办部门',
    'fact.proposal': '建议提案',
    'fact.proposal_due': '办结时限 {time}',
    'fact.reporters': '上报人',
    'fact.pending_extension': '待批延期',
    'fact.pending_text': '申请延期 {hours} 小时：{reason}（{who}，{time}）',
    'fact.reason': '原因',
    'fact.merged_into': '已合并到',
    'fact.merged_from': '并入的重复案件',
    'fact.rating': '评价',
    'fact.counts': '返工 / 退回 / 督办',
    'fact.snapped': '定位点在网格外 {n} 米，已就近归入此网格',
    'stage.accept': '受理',
    'stage.dispatch': '派遣',
    'stage.handle': '处置',
    'stage.verify': '核查',
    'stage.close': '结案',
    'role.citizen': '市民',
    'role.grid_worker': '网格员',
    'role.dispatcher': '受理员',
    'role.department_handler': '部门处置人员',
    'role.commander': '指挥中心',
    'role.supervisor': '督查',
    'role.admin': '管理员',
    'role.integrator': '系统对接',
    'event.reported': '上报',
    'event.accepted': '受理立案',
    'event.rejected': '不予立案',
    'event.dispatched': '派遣',
    'event.self_settled': '网格自处置',
    'event.returned': '退回',
    'event.feedback_given': '处置反馈',
    'event.verified': '核查通过',
    'event.verification_failed': '核查不通过（返工）',
    'event.closed': '结案',
    'event.rated': '评价',
    'event.extension_requested': '申请延期',
    'event.extension_approved': '批准延期',
    'event.extension_denied': '驳回延期',
    'event.long_term_set': '挂账',
    'event.long_term_resumed': '恢复办理',
    'event.supervision_issued': '督办',
    'event.escalated': '升级',
    'event.merged_into': '合并到其他案件',
    'event.duplicate_absorbed': '并入重复案件',
    'ev.category': '类别：{name}',
    'ev.tier': '层级：{tier}',
    'ev.tier_reason': '层级原因：{reason}',
    'ev.lead': '主办：{name}',
    'ev.co': '协办：{names}',
    'ev.deadline': '{stage}时限至 {time}',
    'ev.reason': '原因：{text}',
    'ev.note': '说明：{text}',
    'ev.hours': '延期 {hours} 小时',
    'ev.new_due': '新的处置时限：{time}',
    'ev.escalated': '{from} → {to}',
    'ev.target': '并入 #{id}',
    'ev.source': '并入了 #{id}',
    'ev.score': '{score} 分',
    'cmd.accept': '受理立案',
    'cmd.reject': '不予受理',
    'cmd.dispatch': '派遣',
    'cmd.self_settle': '自处置',
    'cmd.return': '退回',
    'cmd.feedback': '处置反馈',
    'cmd.verify_pass': '核查通过',
    'cmd.verify_fail': '核查不通过',
    'cmd.close': '结案',
    'cmd.rate': '评价',
    'cmd.request_extension': '申请延期',
    'cmd.approve_extension': '批准延期',
    'cmd.deny_extension': '驳回延期',
    'cmd.set_long_term': '挂账',
    'cmd.resume_from_long_term': '恢复办理',
    'cmd.supervise': '督办',
    'cmd.escalate': '升级',
    'cmd.merge_into': '合并',
    'intro.accept': '确认这件事属实、属于本平台办理范围后立案。类别不对时可以在这里改正。',
    'intro.reject': '不予受理后案件即结束，请写明原因，上报人会看到。',
    'intro.dispatch': '选择主办部门（默认是这一类别的责任部门），需要时加上协办部门。',
    'intro.self_settle': '网格员现场处理完毕，附上照片，交核查。',
    'intro.return': '这件事不归本部门办理时退回受理员，请写明原因。',
    'intro.feedback': '处置完毕后反馈，附上处置后的现场照片，交核查。',
    'intro.verify_pass': '到现场核实已处置到位。',
    'intro.verify_fail': '核查不通过，案件退回主办部门返工，请写明问题所在。',
    'intro.close': '核查通过后结案。',
    'intro.rate': '对办理结果打分。',
    'intro.request_extension': '处置时限不够时申请延期，由受理员或指挥中心批准。',
    'intro.approve_extension': '批准后处置时限顺延。',
    'intro.deny_extension': '驳回延期申请，时限不变，请写明原因。',
    'intro.set_long_term': '短期内无法解决的事项挂账跟踪，暂停计时，请写明原因。',
    'intro.resume_from_long_term': '恢复办理后重新开始计算处置时限。',
    'intro.supervise': '督办通知会记入案件历史，并计入督办次数。',
    'intro.escalate': '升级后由更高层级协调办理，可加入协办部门。区级联动只能由指挥中心发起。',
    'intro.merge_into': '本案是另一件案件的重复上报时合并：本案结束，上报人并入目标案件。',
    'f.category': '类别',
    'f.reason': '原因',
    'f.note': '说明',
    'f.note_optional': '说明（可不填）',
    'f.department': '主办部门',
    'f.co_departments': '协办部门（可多选）',
    'f.photos': '现场照片',
    'f.photos_hint': '至少一张，每张不超过 8 MB。',
    'f.choose_photos': '选择照片',
    'f.no_photos': '还没有选择照片',
    'f.photos_chosen': '已选择 {n} 张照片',
    'f.department_hint': '默认是「{category}」的责任部门：{name}。',
    'f.hours': '延期时长（工作小时）',
    'f.hours_hint': '1 到 500 个工作小时。',
    'f.to_tier': '升级到',
    'f.target': '目标案件编号',
    'f.score': '评分',
    'f.comment': '评语（可不填）',
    'f.pending': '申请延期 {hours} 小时，理由：{reason}',
    'need.reason': '请填写原因。',
    'need.note': '请填写说明。',
    'need.photo': '请至少附一张照片作为处置证据。',
    'need.hours': '延期时长要在 1 到 500 个工作小时之间。',
    'need.target': '请填写要合并到的案件编号（不能是本案）。',
    'need.tier': '没有可以升级到的层级。',
    'need.department': '请选择主办部门。',
    'desk.all_proposals': '建议提案（人大代表建议和政协委员提案）',
    'desk.proposal.open': '＋ 登记建议提案',
    'desk.proposal.title': '登记建议提案',
    'desk.proposal.intro': '交办的人大代表建议、政协委员提案登记为案件，和其他案件一样受理、派遣、处置、反馈、核查、结案、评价；主办部门在派遣时选定。',
    'desk.proposal.kind': '类型',
    'desk.proposal.kind.npc_suggestion': '人大代表建议',
    'desk.proposal.kind.cppcc_proposal': '政协委员提案',
    'desk.proposal.number': '编号',
    'desk.proposal.number_example': '例如 第0123号',
    'desk.proposal.session': '届次（可不填）',
    'desk.proposal.session_example': '例如 区十八届人大三次会议',
    'desk.proposal.proposer': '提出人',
    'desk.proposal.proposer_example': '例如 张代表',
    'desk.proposal.proposer_hint': '集体提案填写提出的党派、团体或代表团。',
    'desk.proposal.due': '办理时限（可不填）',
    'desk.proposal.due_default': '不填时按交办之日起三个月办结：{time}。',
    'desk.proposal.due_given': '办结时限：{time}（当天下班前）。',
    'desk.proposal.subject': '标题',
    'desk.proposal.content': '内容',
    'desk.proposal.place': '所在网格',
    'desk.proposal.place_hint': '依次选择街道、社区、网格，或在地图上点一下建议提案所说的地点（也可以用方向键移动地图，按回车把图钉放在地图中心）。',
    'desk.proposal.street': '街道',
    'desk.proposal.community': '社区',
    'desk.proposal.cell': '网格',
    'desk.proposal.choose_street': '请选择街道',
    'desk.proposal.choose_community': '请选择社区',
    'desk.proposal.choose_cell': '请选择网格',
    'desk.proposal.map': '网格地图：点一下选择地点',
    'desk.proposal.map_failed': '网格地图无法加载，请用上面的选择框选择网格。',
    'desk.proposal.where_none': '还没有选择地点。',
    'desk.proposal.where_cell': '已选择网格：{name}（{code}）',
    'desk.proposal.where_pin': '图钉在网格：{name}（{code}）',
    'desk.proposal.where_outside': '这里不在您负责的网格内，请在框出的范围内选择。',
    'desk.proposal.submit': '登记',
    'desk.proposal.done': '已登记建议提案 {number}，案件 #{id}',
    'desk.proposal.tag': '{kind} {number}',
    'need.p_number': '请填写建议提案的编号（例如 第0123号）。',
    'need.p_proposer': '请填写提出人。',
    'need.p_title': '请填写标题。',
    'need.p_place': '请选择所在网格（街道、社区、网格），或在地图上点一下。',
    'need.p_due': '办理时限不能早于今天。',
  },
  en: {
    'desk.title': 'Case desk',
    'desk.queue': 'Cases to act on',
    'desk.scope': 'Which cases',
    'desk.scope.open': 'Open',
    'desk.scope.finished': 'Closed & rejected',
    'desk.scope.all': 'All',
    'desk.search': 'Search titles and descriptions',
    'desk.category_filter': 'Filter by category',
    'desk.all_categories': 'All categories',
    'desk.count': '{n} cases',
    'desk.count_red': ', {n} overdue',
    'desk.queue_empty': 'No case matches.',
    'desk.queue_loading': 'Loading cases…',
    'desk.more': 'Show {n} more ({total} in all)',
    'desk.case': 'Case',
    'desk.pick': 'Pick a case from the list, or follow a case number from another page.',
    'desk.back': '← Back to the list',
    'desk.loading_case': 'Loading case #{id}…',
    'desk.no_deadline': 'No deadline',
    'desk.due_at': '{stage} due {time}',
    'desk.updated': 'updated {time}',
    'desk.no_actions': 'There is nothing for you to do on this case now.',
    'desk.actions': 'Actions',
    'desk.facts': 'Facts',
    'desk.description': 'Description',
    'desk.no_description': '(no description)',
    'desk.expand': 'Show all',
    'desk.collapse': 'Show less',
    'desk.photos': 'Photos',
    'desk.evidence': 'Evidence',
    'desk.photo': 'Photo',
    'desk.photo_n': 'Open photo {n}',
    'desk.photo_failed': 'The photo cannot be loaded',
    'desk.map': 'Location',
    'desk.map_label': 'Where the case is, and its grid cell',
    'desk.map_loading': 'Loading the grid outlines…',
    'desk.no_point': 'The report had no point; the map shows its grid cell.',
    'desk.no_cell_shape': 'The outline of this grid cell was not found.',
    'desk.history': 'History',
    'desk.chain_ok': 'Complete record: the hash chain verifies',
    'desk.chain_bad': 'The record does NOT verify: the history does not match its hash chain and may have been tampered with. Tell the administrator now.',
    'desk.duplicates': 'Possible duplicates',
    'desk.no_duplicates': 'No possible duplicates were found.',
    'desk.duplicates_loading': 'Looking for duplicates…',
    'desk.similarity': '{n}% similar',
    'desk.distance': '{n} m away',
    'desk.hours_apart': '{n} h apart',
    'desk.merge_here': 'Merge this case into #{id}',
    'desk.sending': 'Sending…',
    'desk.uploading': 'Uploading photo {i} of {n}…',
    'desk.done': 'Done: {what}',
    'desk.returned_away': 'Returned #{id}: the case is back with the dispatcher and no longer in your queue.',
    'desk.refresh_case': 'Refresh the case',
    'desk.you': ' (you)',
    'desk.hidden': '(not shown)',
    'fact.category': 'Category',
    'fact.cell': 'Grid cell',
    'fact.address': 'Address',
    'fact.reported_short': 'reported {time}',
    'fact.tier_reason': 'Why: {reason}',
    'fact.department': 'Lead department',
    'fact.co_departments': 'Co-departments',
    'fact.proposal': 'Proposal',
    'fact.proposal_due': 'due {time}',
    'fact.reporters': 'Reporters',
    'fact.pending_extension': 'Extension asked',
    'fact.pending_text': '{hours} h more: {reason} ({who}, {time})',
    'fact.reason': 'Reason',
    'fact.merged_into': 'Merged into',
    'fact.merged_from': 'Duplicates merged here',
    'fact.rating': 'Rating',
    'fact.counts': 'Rework / returns / supervision',
    'fact.snapped': 'The point lay {n} m outside the cell and was placed in the nearest one',
    'stage.accept': 'Acceptance',
    'stage.dispatch': 'Dispatch',
    'stage.handle': 'Handling',
    'stage.verify': 'Verification',
    'stage.close': 'Closing',
    'role.citizen': 'Citizen',
    'role.grid_worker': 'Grid worker',
    'role.dispatcher': 'Dispatcher',
    'role.department_handler': 'Department handler',
    'role.commander': 'Command center',
    'role.supervisor': 'Supervisor',
    'role.admin': 'Administrator',
    'role.integrator': 'Integration',
    'event.reported': 'Reported',
    'event.accepted': 'Accepted',
    'event.rejected': 'Rejected',
    'event.dispatched': 'Dispatched',
    'event.self_settled': 'Settled in the grid',
    'event.returned': 'Returned',
    'event.feedback_given': 'Reported done',
    'event.verified': 'Verification passed',
    'event.verification_failed': 'Verification failed (rework)',
    'event.closed': 'Closed',
    'event.rated': 'Rated',
    'event.extension_requested': 'Extension requested',
    'event.extension_approved': 'Extension approved',
    'event.extension_denied': 'Extension denied',
    'event.long_term_set': 'Set long-term',
    'event.long_term_resumed': 'Resumed',
    'event.supervision_issued': 'Supervision notice',
    'event.escalated': 'Escalated',
    'event.merged_into': 'Merged into another case',
    'event.duplicate_absorbed': 'Absorbed a duplicate',
    'ev.category': 'Category: {name}',
    'ev.tier': 'Tier: {tier}',
    'ev.tier_reason': 'Tier raised because: {reason}',
    'ev.lead': 'Lead: {name}',
    'ev.co': 'Co-handling: {names}',
    'ev.deadline': '{stage} due {time}',
    'ev.reason': 'Reason: {text}',
    'ev.note': 'Note: {text}',
    'ev.hours': '{hours} more working hours',
    'ev.new_due': 'Handling now due {time}',
    'ev.escalated': '{from} → {to}',
    'ev.target': 'Into #{id}',
    'ev.source': 'Took in #{id}',
    'ev.score': '{score} of 5',
    'cmd.accept': 'Accept',
    'cmd.reject': 'Reject',
    'cmd.dispatch': 'Dispatch',
    'cmd.self_settle': 'Settle in the grid',
    'cmd.return': 'Return',
    'cmd.feedback': 'Report done',
    'cmd.verify_pass': 'Verified: done',
    'cmd.verify_fail': 'Verified: not done',
    'cmd.close': 'Close',
    'cmd.rate': 'Rate',
    'cmd.request_extension': 'Request extension',
    'cmd.approve_extension': 'Approve extension',
    'cmd.deny_extension': 'Deny extension',
    'cmd.set_long_term': 'Set long-term',
    'cmd.resume_from_long_term': 'Resume',
    'cmd.supervise': 'Supervise',
    'cmd.escalate': 'Escalate',
    'cmd.merge_into': 'Merge',
    'intro.accept': 'Accept the case once it is real and ours to handle. Correct the category here if it is wrong.',
    'intro.reject': 'Rejecting ends the case. Say why: the reporter will see it.',
    'intro.dispatch': 'Choose the lead department (by default the category’s department) and, if needed, co-departments.',
    'intro.self_settle': 'The grid worker settled it on the spot: attach photos; it goes to verification.',
    'intro.return': 'Return the case to the dispatcher when it is not your department’s. Say why.',
    'intro.feedback': 'Report the case done with photos of the result; it goes to verification.',
    'intro.verify_pass': 'It was checked on the spot and is done.',
    'intro.verify_fail': 'Not done: the case goes back to the lead department as rework. Say what is wrong.',
    'intro.close': 'Close the verified case.',
    'intro.rate': 'Rate how the case was handled.',
    'intro.request_extension': 'Ask for more time when the deadline cannot be met; a dispatcher or the command center decides.',
    'intro.approve_extension': 'Approving moves the handling deadline.',
    'intro.deny_extension': 'Deny the request; the deadline stays. Say why.',
    'intro.set_long_term': 'Matters that cannot be solved soon are tracked long-term and the clock stops. Say why.',
    'intro.resume_from_long_term': 'Handling resumes with a fresh deadline.',
    'intro.supervise': 'The supervision notice goes into the case history and counts in the KPIs.',
    'intro.escalate': 'A higher tier coordinates the case; co-departments may join. Only the command center starts district joint handling.',
    'intro.merge_into': 'Merge when this case reports the same matter as another: this case ends and its reporters move to the other one.',
    'f.category': 'Category',
    'f.reason': 'Reason',
    'f.note': 'Note',
    'f.note_optional': 'Note (optional)',
    'f.department': 'Lead department',
    'f.co_departments': 'Co-departments (any number)',
    'f.photos': 'Photos',
    'f.photos_hint': 'At least one, at most 8 MB each.',
    'f.choose_photos': 'Choose photos',
    'f.no_photos': 'No photo chosen yet',
    'f.photos_chosen': '{n} photos chosen',
    'f.department_hint': 'By default the department responsible for “{category}”: {name}.',
    'f.hours': 'Extension (working hours)',
    'f.hours_hint': '1 to 500 working hours.',
    'f.to_tier': 'Escalate to',
    'f.target': 'Case number to merge into',
    'f.score': 'Score',
    'f.comment': 'Comment (optional)',
    'f.pending': '{hours} more hours asked: {reason}',
    'need.reason': 'Give a reason.',
    'need.note': 'Write a note.',
    'need.photo': 'Attach at least one photo as evidence.',
    'need.hours': 'The extension must be 1 to 500 working hours.',
    'need.target': 'Give the number of the case to merge into (not this one).',
    'need.tier': 'There is no higher tier to escalate to.',
    'need.department': 'Choose the lead department.',
    'desk.all_proposals': 'Proposals (NPC deputies’ suggestions and CPPCC members’ proposals)',
    'desk.proposal.open': '+ Register a proposal',
    'desk.proposal.title': 'Register a proposal',
    'desk.proposal.intro': 'A suggestion or proposal handed over for handling becomes a case and goes through the same steps as any other: accept, dispatch, handle, report done, verify, close, rate. The lead department is chosen when dispatching.',
    'desk.proposal.kind': 'Kind',
    'desk.proposal.kind.npc_suggestion': 'NPC deputy suggestion',
    'desk.proposal.kind.cppcc_proposal': 'CPPCC member proposal',
    'desk.proposal.number': 'Number',
    'desk.proposal.number_example': 'e.g. 第0123号',
    'desk.proposal.session': 'Session (optional)',
    'desk.proposal.session_example': 'e.g. 区十八届人大三次会议',
    'desk.proposal.proposer': 'Proposer',
    'desk.proposal.proposer_example': 'e.g. 张代表',
    'desk.proposal.proposer_hint': 'For a joint proposal, the party, group or delegation that made it.',
    'desk.proposal.due': 'Handling deadline (optional)',
    'desk.proposal.due_default': 'Left empty, it is due three months after it is handed over: {time}.',
    'desk.proposal.due_given': 'Due {time} (end of the working day).',
    'desk.proposal.subject': 'Title',
    'desk.proposal.content': 'Content',
    'desk.proposal.place': 'Grid cell',
    'desk.proposal.place_hint': 'Choose the street, community and cell, or click the place on the map (or move the map with the arrow keys and press Enter to pin its centre).',
    'desk.proposal.street': 'Street',
    'desk.proposal.community': 'Community',
    'desk.proposal.cell': 'Cell',
    'desk.proposal.choose_street': 'Choose a street',
    'desk.proposal.choose_community': 'Choose a community',
    'desk.proposal.choose_cell': 'Choose a cell',
    'desk.proposal.map': 'Grid map: click to choose the place',
    'desk.proposal.map_failed': 'The grid map cannot be loaded; choose the cell with the lists above.',
    'desk.proposal.where_none': 'No place chosen yet.',
    'desk.proposal.where_cell': 'Cell chosen: {name} ({code})',
    'desk.proposal.where_pin': 'Pin in cell: {name} ({code})',
    'desk.proposal.where_outside': 'This is outside your cells; choose a place inside the outlined area.',
    'desk.proposal.submit': 'Register',
    'desk.proposal.done': 'Proposal {number} registered as case #{id}',
    'desk.proposal.tag': '{kind} {number}',
    'need.p_number': 'Give the proposal’s number (e.g. 第0123号).',
    'need.p_proposer': 'Give the proposer.',
    'need.p_title': 'Give a title.',
    'need.p_place': 'Choose the grid cell (street, community, cell) or click the place on the map.',
    'need.p_due': 'The handling deadline cannot be before today.',
  },
});

const ROLES = ['dispatcher', 'department_handler', 'commander', 'supervisor'];
const OPEN_STATES = ['reported', 'accepted', 'handling', 'awaiting_verification', 'verified', 'long_term'];
const FINISHED_STATES = ['closed', 'rejected', 'merged'];
const FINAL = new Set(FINISHED_STATES);
const TIERS = ['grid', 'street', 'district'];
const PAGE_ROWS = 150;
const EVENT_KINDS = [
  'reported', 'accepted', 'rejected', 'dispatched', 'self_settled', 'returned', 'feedback_given', 'verified',
  'verification_failed', 'closed', 'rated', 'extension_requested', 'extension_approved', 'extension_denied',
  'long_term_set', 'long_term_resumed', 'supervision_issued', 'escalated', 'merged_into', 'duplicate_absorbed',
];
// The order of the buttons: the step forward first, then the side roads.
const COMMAND_ORDER = [
  'accept', 'dispatch', 'self_settle', 'feedback', 'verify', 'close', 'rate', 'approve_extension',
  'resume_from_long_term', 'request_extension', 'deny_extension', 'supervise', 'escalate', 'set_long_term',
  'merge_into', 'return', 'reject',
];
/** The categories of proposals (建议提案), one per kind; the queue's 「建议提案」 filter asks for both. */
const PROPOSAL_CATEGORIES = ['Z9901', 'Z9902'];
const PROPOSALS = 'proposals';
const PRIMARY = new Set(['accept', 'dispatch', 'self_settle', 'feedback', 'verify_pass', 'close', 'approve_extension', 'resume_from_long_term']);
const DANGER = new Set(['reject', 'return', 'verify_fail']);

const S = {
  me: null,
  ref: null,
  scope: 'open',
  text: '',
  category: '',
  items: [],
  shown: PAGE_ROWS,
  loadingQueue: 0,
  openId: null,
  detail: null,
  caseSeq: 0,
  dialog: null,
  /** Focus the next case opened (one just registered). */
  focusOpened: false,
};

const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------- small pieces

function roleName(role) {
  return role ? t(`role.${role}`) : '';
}

function channelName(channel) {
  // History events spell two channels without the underscore the case views use.
  const normal = { hotline12345: 'hotline_12345', police110: 'police_110' }[channel] || channel;
  return t(`channel.${normal}`);
}

function proposalKindName(kind) {
  return t(`desk.proposal.kind.${kind}`);
}

function tierName(tier) {
  return t(`tier.${tier}`);
}

function departmentName(code) {
  return S.ref.departmentByCode.get(code)?.name || code;
}

function categoryName(code) {
  return S.ref.categoryByCode.get(code)?.name || code;
}

function stageName(stage) {
  return t(`stage.${stage}`);
}

function stateBadge(state) {
  return el('span', { class: `badge state state-${state}` }, stateName(state));
}

function tierBadge(tier) {
  return el('span', { class: `badge tier-${tier}` }, tierName(tier));
}

function runningDeadline(c) {
  return c.deadline && !FINAL.has(c.state) ? c.deadline : null;
}

function deadlineBadge(c) {
  const deadline = runningDeadline(c);
  if (!deadline) return el('span', { class: 'badge none' }, t('desk.no_deadline'));
  const colour = deadline.colour || 'none';
  return el(
    'span',
    { class: `badge deadline ${colour}`, title: t('desk.due_at', { stage: stageName(deadline.stage), time: fmtTime(deadline.due_at) }) },
    fmtDeadline(deadline),
  );
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function isNarrow() {
  return window.matchMedia('(max-width: 900px)').matches;
}

// ---------------------------------------------------------------- photos (bearer token: fetched as blobs)

const photoUrls = new Map();

function photoUrl(id) {
  if (!photoUrls.has(id)) {
    const pending = api(`/api/photos/${encodeURIComponent(id)}`, { raw: true })
      .then((response) => response.blob())
      .then((blob) => URL.createObjectURL(blob));
    pending.catch(() => photoUrls.delete(id));
    photoUrls.set(id, pending);
  }
  return photoUrls.get(id);
}

function isPhotoId(item) {
  return /^[0-9a-f]{64}$/i.test(item);
}

function photoStrip(ids, kind) {
  const strip = el('div', { class: `photos ${kind}` });
  ids.forEach((id, index) => {
    const img = el('img', { alt: `${t('desk.photo')} ${index + 1}`, loading: 'lazy' });
    const button = el('button', { type: 'button', class: 'thumb', 'aria-label': t('desk.photo_n', { n: index + 1 }) }, img);
    photoUrl(id)
      .then((url) => {
        img.src = url;
        button.addEventListener('click', () => openPhoto(url, img.alt));
      })
      .catch(() => {
        button.replaceWith(el('span', { class: 'thumb failed small muted' }, t('desk.photo_failed')));
      });
    strip.append(button);
  });
  return strip;
}

function evidenceBlock(items, kind = 'evidence') {
  const photos = items.filter(isPhotoId);
  const words = items.filter((item) => !isPhotoId(item) && item.trim());
  return [
    photos.length ? photoStrip(photos, kind) : null,
    words.length ? el('ul', { class: 'evidence-words small' }, words.map((w) => el('li', {}, w))) : null,
  ];
}

function openPhoto(url, alt) {
  const dialog = $('#photo-dialog');
  $('#photo-large').src = url;
  $('#photo-large').alt = alt;
  dialog.showModal();
}

// ---------------------------------------------------------------- queue

function sortCases(items) {
  const time = (iso) => Date.parse(iso) || 0;
  return items.sort((a, b) => {
    const da = runningDeadline(a);
    const db = runningDeadline(b);
    if (da && !db) return -1;
    if (!da && db) return 1;
    if (!da && !db) return time(b.updated_at) - time(a.updated_at) || b.id - a.id;
    const ra = da.colour === 'red' ? 0 : 1;
    const rb = db.colour === 'red' ? 0 : 1;
    return ra - rb || time(da.due_at) - time(db.due_at) || a.id - b.id;
  });
}

async function fetchAll(query) {
  const items = [];
  let after;
  // A district holds thousands of cases at most; the cap only guards against a runaway loop.
  for (let page = 0; page < 100; page += 1) {
    const answer = await api('/api/cases', { query: { ...query, limit: 500, after } });
    items.push(...answer.items);
    if (answer.next_after === null || answer.next_after === undefined) break;
    after = answer.next_after;
  }
  return items;
}

async function loadQueue() {
  const seq = ++S.loadingQueue;
  const states = S.scope === 'open' ? OPEN_STATES : S.scope === 'finished' ? FINISHED_STATES : [undefined];
  const status = $('#queue-status');
  if (!S.items.length) status.textContent = t('desk.queue_loading');
  try {
    const categories = S.category === PROPOSALS ? PROPOSAL_CATEGORIES : [S.category];
    const lists = await Promise.all(
      states.flatMap((state) => categories.map((category) => fetchAll({ state, text: S.text, category }))),
    );
    if (seq !== S.loadingQueue) return;
    const byId = new Map();
    for (const item of lists.flat()) byId.set(item.id, item);
    S.items = sortCases([...byId.values()]);
    renderQueue();
  } catch (error) {
    if (seq !== S.loadingQueue) return;
    status.textContent = error instanceof ApiFailure ? error.message : t('error.internal');
    showError(error);
  }
}

function queueRow(c) {
  const colour = runningDeadline(c)?.colour || 'none';
  const current = c.id === S.openId;
  return el(
    'li',
    {},
    el(
      'a',
      {
        class: `qrow edge-${colour}`,
        href: `#case=${c.id}`,
        'aria-current': current ? 'true' : null,
        dataset: { id: c.id, due: runningDeadline(c)?.due_at || '', colour },
      },
      el(
        'span',
        { class: 'qrow-top' },
        el('span', { class: 'qid mono' }, `#${c.id}`),
        stateBadge(c.state),
        tierBadge(c.tier),
        el('span', { class: 'grow' }),
        runningDeadline(c) ? deadlineBadge(c) : el('span', { class: 'small muted' }, fmtTime(c.updated_at)),
      ),
      el('span', { class: 'qtitle' }, c.title),
      c.proposal
        ? el('span', { class: 'qproposal small' }, t('desk.proposal.tag', { kind: proposalKindName(c.proposal.kind), number: c.proposal.number }))
        : null,
      el('span', { class: 'qmeta small muted' }, `${c.category_name || c.category} · ${c.cell_name || c.cell}`),
    ),
  );
}

function renderQueue() {
  const items = S.items;
  const list = $('#queue-list');
  list.replaceChildren(...items.slice(0, S.shown).map(queueRow));
  const red = items.filter((c) => runningDeadline(c)?.colour === 'red').length;
  $('#queue-count').textContent = t('desk.count', { n: items.length }) + (red ? t('desk.count_red', { n: red }) : '');
  $('#queue-status').textContent = items.length ? '' : t('desk.queue_empty');
  const more = $('#queue-more');
  const rest = items.length - S.shown;
  more.classList.toggle('hidden', rest <= 0);
  more.textContent = t('desk.more', { n: Math.min(rest, PAGE_ROWS), total: items.length });
}

/** Puts the fresh view of one case into the queue at once (the full reload follows, debounced). */
function patchQueue(c) {
  const at = S.items.findIndex((item) => item.id === c.id);
  if (at < 0) return;
  const fits = S.scope === 'all' || (S.scope === 'open' ? !FINAL.has(c.state) : FINAL.has(c.state));
  if (fits) S.items[at] = c;
  else S.items.splice(at, 1);
  sortCases(S.items);
  renderQueue();
}

function markCurrent() {
  for (const row of document.querySelectorAll('#queue-list a.qrow')) {
    if (Number(row.dataset.id) === S.openId) row.setAttribute('aria-current', 'true');
    else row.removeAttribute('aria-current');
  }
}

function fillCategories() {
  const select = $('#queue-category');
  if (PROPOSAL_CATEGORIES.some((code) => S.ref.categoryByCode.has(code))) {
    select.append(el('option', { value: PROPOSALS }, t('desk.all_proposals')));
  }
  const groups = new Map();
  for (const category of S.ref.categories) {
    if (!groups.has(category.major_name)) groups.set(category.major_name, []);
    groups.get(category.major_name).push(category);
  }
  for (const [major, categories] of groups) {
    select.append(
      el('optgroup', { label: major }, categories.map((c) => el('option', { value: c.code }, `${c.name}（${c.code}）`))),
    );
  }
}

function wireQueue() {
  for (const button of document.querySelectorAll('.segments button')) {
    button.addEventListener('click', () => {
      S.scope = button.dataset.scope;
      for (const other of document.querySelectorAll('.segments button')) {
        other.setAttribute('aria-pressed', String(other === button));
      }
      S.items = [];
      S.shown = PAGE_ROWS;
      $('#queue-list').replaceChildren();
      loadQueue();
    });
  }
  const search = debounce(() => {
    S.shown = PAGE_ROWS;
    loadQueue();
  }, 350);
  $('#queue-text').addEventListener('input', (event) => {
    S.text = event.target.value.trim();
    search();
  });
  $('#queue-category').addEventListener('change', (event) => {
    S.category = event.target.value;
    S.shown = PAGE_ROWS;
    loadQueue();
  });
  $('#queue-refresh').addEventListener('click', () => loadQueue());
  $('#queue-more').addEventListener('click', () => {
    S.shown += PAGE_ROWS;
    renderQueue();
  });
  // Arrow keys move between rows; Enter (a link) opens the case.
  $('#queue-list').addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const rows = [...document.querySelectorAll('#queue-list a.qrow')];
    const at = rows.indexOf(document.activeElement);
    if (at < 0) return;
    const next = rows[at + (event.key === 'ArrowDown' ? 1 : -1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });
}

// ---------------------------------------------------------------- routing

function caseIdFromHash() {
  const found = location.hash.match(/(?:^#|&)case=(\d+)/);
  return found ? Number(found[1]) : null;
}

function route() {
  const id = caseIdFromHash();
  document.body.classList.toggle('case-open', id !== null);
  if (id === null) {
    S.openId = null;
    S.detail = null;
    S.caseSeq += 1;
    $('#case-view').classList.add('hidden');
    $('#case-empty').classList.remove('hidden');
    markCurrent();
    return;
  }
  if (id !== S.openId || !S.detail) openCase(id);
}

async function openCase(id) {
  S.openId = id;
  S.detail = null;
  markCurrent();
  const view = $('#case-view');
  $('#case-empty').classList.add('hidden');
  view.classList.remove('hidden');
  view.replaceChildren(el('p', { class: 'panel muted' }, t('desk.loading_case', { id })));
  if (isNarrow()) window.scrollTo(0, 0);
  const focus = isNarrow() || S.focusOpened;
  S.focusOpened = false;
  await loadCase({ focus });
}

/** Loads the open case; renders only when something changed (the live feed calls this often). */
async function loadCase({ focus = false } = {}) {
  const id = S.openId;
  if (id === null) return;
  const seq = ++S.caseSeq;
  let detail;
  try {
    detail = await api(`/api/cases/${id}`);
  } catch (error) {
    if (seq !== S.caseSeq) return;
    S.detail = null;
    $('#case-view').replaceChildren(
      el('div', { class: 'panel case-error' },
        el('p', { class: 'error-text', role: 'alert' }, error instanceof ApiFailure ? error.message : t('error.internal')),
        el('button', { type: 'button', onclick: () => loadCase() }, t('common.retry')),
        backButton()),
    );
    if (!(error instanceof ApiFailure)) showError(error);
    return;
  }
  if (seq !== S.caseSeq) return;
  const same = S.detail && JSON.stringify(S.detail) === JSON.stringify(detail);
  S.detail = detail;
  if (same) return;
  renderCase(detail);
  patchQueue(detail.case);
  loadDuplicates(detail);
  if (focus) $('#case-view h2')?.focus();
}

const reloadCaseSoon = debounce(() => loadCase(), 400);
const reloadQueueSoon = debounce(() => loadQueue(), 1500);

function backButton() {
  return el('button', {
    type: 'button',
    class: 'back',
    onclick: () => {
      location.hash = '';
      const row = document.querySelector(`#queue-list a.qrow[data-id="${S.lastOpened}"]`);
      row?.focus();
    },
  }, t('desk.back'));
}

// ---------------------------------------------------------------- the case page

function fact(labelKey, ...value) {
  const parts = value.flat().filter((v) => v !== null && v !== undefined && v !== '');
  if (!parts.length) return [];
  return [el('dt', {}, t(labelKey)), el('dd', {}, parts)];
}

function tierReason(history) {
  const report = history.find((e) => e.kind?.type === 'reported');
  const reasons = [];
  if (report?.kind?.report?.tier_reason) reasons.push(report.kind.report.tier_reason);
  for (const event of history) {
    if (event.kind?.type === 'escalated' && event.kind.reason) reasons.push(event.kind.reason);
  }
  return reasons.length ? reasons[reasons.length - 1] : null;
}

function reporterText(r) {
  const who = [r.name, r.phone].filter(Boolean).join(' · ') || t('desk.hidden');
  return `${who} · ${channelName(r.channel)}${r.is_you ? t('desk.you') : ''}`;
}

function renderCase(detail) {
  const c = detail.case;
  S.lastOpened = c.id;
  const deadline = runningDeadline(c);
  const reason = tierReason(detail.history);
  const view = $('#case-view');
  if (map) map.getContainer().remove();

  const head = el(
    'header',
    { class: 'case-head panel' },
    backButton(),
    el('div', { class: 'case-title' },
      el('div', { class: 'case-kicker small muted' },
        el('span', { class: 'mono' }, `#${c.id}`), ' · ', channelName(c.channel), ' · ',
        t('fact.reported_short', { time: fmtTime(c.reported_at) }), ' · ', t('desk.updated', { time: fmtTime(c.updated_at) })),
      el('h2', { tabindex: '-1' }, c.title),
      el('div', { class: 'row badges' }, stateBadge(c.state), tierBadge(c.tier), deadlineBadge(c),
        deadline ? el('span', { class: 'small muted' }, t('desk.due_at', { stage: stageName(deadline.stage), time: fmtTime(deadline.due_at) })) : null),
      reason ? el('div', { class: 'tier-reason small' }, t('fact.tier_reason', { reason })) : null),
    actionBar(detail),
  );

  const facts = el(
    'dl',
    { class: 'facts' },
    fact('fact.proposal', c.proposal
      ? `${proposalKindName(c.proposal.kind)} ${c.proposal.number}`
        + `${c.proposal.session ? ` · ${c.proposal.session}` : ''} · ${c.proposal.proposer} · ${t('fact.proposal_due', { time: fmtTime(c.proposal.effective_due_at) })}`
      : null),
    fact('fact.category', `${c.category_name || categoryName(c.category)}（${c.category}）`),
    fact('fact.cell', `${c.cell_name || c.cell}`, el('span', { class: 'mono small muted' }, ` ${c.cell}`),
      c.distance_to_cell_m ? el('div', { class: 'small muted' }, t('fact.snapped', { n: Math.round(c.distance_to_cell_m) })) : null),
    fact('fact.address', c.address),
    fact('fact.department', c.department ? c.department_name || departmentName(c.department) : null),
    fact('fact.co_departments', c.co_departments.map(departmentName).join('、')),
    fact('fact.reporters', c.reporters.length ? el('ul', { class: 'plain' }, c.reporters.map((r) => el('li', {}, reporterText(r)))) : null),
    fact('fact.pending_extension', c.pending_extension
      ? t('fact.pending_text', {
        hours: c.pending_extension.hours,
        reason: c.pending_extension.reason,
        who: c.pending_extension.requested_by,
        time: fmtTime(c.pending_extension.requested_at),
      })
      : null),
    fact('fact.reason', c.reason),
    fact('fact.merged_into', c.merged_into ? el('a', { href: `#case=${c.merged_into}` }, `#${c.merged_into}`) : null),
    fact('fact.merged_from', c.merged_from.flatMap((id, i) => [i ? '、' : '', el('a', { href: `#case=${id}` }, `#${id}`)])),
    fact('fact.rating', c.rating ? `${'★'.repeat(c.rating.score)}${'☆'.repeat(5 - c.rating.score)} ${c.rating.comment || ''}` : null),
    fact('fact.counts', c.rework_count || c.return_count || c.supervision_count
      ? `${c.rework_count} / ${c.return_count} / ${c.supervision_count}` : null),
  );

  const description = el('p', { class: 'description' }, c.description || t('desk.no_description'));
  const long = (c.description || '').length > 320;
  if (long) description.classList.add('clamped');
  const toggle = long
    ? el('button', {
      type: 'button',
      class: 'link small',
      'aria-expanded': 'false',
      onclick: (event) => {
        const open = description.classList.toggle('clamped') === false;
        event.target.setAttribute('aria-expanded', String(open));
        event.target.textContent = open ? t('desk.collapse') : t('desk.expand');
      },
    }, t('desk.expand'))
    : null;

  const main = el(
    'div',
    { class: 'case-main' },
    el('section', { class: 'panel' }, el('h3', {}, t('desk.facts')), facts),
    el('section', { class: 'panel' }, el('h3', {}, t('desk.description')), description, toggle,
      c.photos.length ? [el('h3', { class: 'sub' }, t('desk.photos')), ...evidenceBlock(c.photos, 'report')] : null,
      c.evidence.length ? [el('h3', { class: 'sub' }, t('desk.evidence')), ...evidenceBlock(c.evidence)] : null),
    el('section', { class: 'panel duplicates', id: 'duplicates' }, el('h3', {}, t('desk.duplicates')),
      el('p', { class: 'small muted' }, FINAL.has(c.state) ? t('desk.no_duplicates') : t('desk.duplicates_loading'))),
  );

  const side = el(
    'div',
    { class: 'case-side' },
    el('section', { class: 'panel map-panel' }, el('h3', {}, t('desk.map')), el('div', { class: 'map-slot', id: 'map-slot' }),
      el('p', { class: 'small muted map-note', id: 'map-note' })),
    el('section', { class: 'panel history' },
      el('h3', {}, t('desk.history')),
      el('p', { class: `chain ${detail.chain_verifies ? 'ok' : 'bad'}`, role: detail.chain_verifies ? null : 'alert', title: c.head_hash },
        el('span', { 'aria-hidden': 'true' }, detail.chain_verifies ? '✓ ' : '⚠ '),
        detail.chain_verifies ? t('desk.chain_ok') : t('desk.chain_bad')),
      el('ol', { class: 'timeline' }, detail.history.map(timelineItem))),
  );

  view.replaceChildren(head, el('div', { class: 'case-body' }, main, side));
  drawMap(c);
}

function actionBar(detail) {
  const allowed = new Set(detail.allowed_commands);
  const names = [];
  for (const name of COMMAND_ORDER) {
    if (!allowed.has(name)) continue;
    if (name === 'verify') names.push('verify_pass', 'verify_fail');
    else names.push(name);
  }
  // Commands this page does not know yet still get a button (the server allowed them).
  for (const name of allowed) if (!COMMAND_ORDER.includes(name)) names.push(name);
  if (!names.length) return el('p', { class: 'no-actions small muted' }, t('desk.no_actions'));
  return el(
    'div',
    { class: 'actions-bar', role: 'group', 'aria-label': t('desk.actions') },
    names.map((name) => el('button', {
      type: 'button',
      class: PRIMARY.has(name) ? 'primary' : DANGER.has(name) ? 'danger-outline' : '',
      dataset: { command: name === 'verify_pass' || name === 'verify_fail' ? 'verify' : name, action: name },
      onclick: () => openCommand(name),
    }, t(`cmd.${name}`))),
  );
}

function timelineItem(event) {
  const k = event.kind || {};
  const type = k.type;
  const lines = [];
  const facts = [];
  const add = (key, vars) => lines.push(el('div', {}, t(key, vars)));
  const short = (text) => text && facts.push(text);
  const deadline = (d) => d && add('ev.deadline', { stage: stageName(d.stage), time: fmtTime(d.due_at) });
  let evidence = null;
  switch (type) {
    case 'reported': {
      const report = k.report || {};
      short(channelName(report.channel));
      if (report.category) short(categoryName(report.category));
      if (k.tier) short(tierName(k.tier));
      short([report.reporter?.name, report.reporter?.phone].filter(Boolean).join(' '));
      if (report.tier_reason) add('ev.tier_reason', { reason: report.tier_reason });
      if (report.photos?.length) evidence = evidenceBlock(report.photos, 'report');
      deadline(k.deadline);
      break;
    }
    case 'accepted':
      short(t('ev.category', { name: categoryName(k.category) }));
      if (k.tier) short(t('ev.tier', { tier: tierName(k.tier) }));
      deadline(k.deadline);
      break;
    case 'dispatched':
      add('ev.lead', { name: departmentName(k.department) });
      if (k.co_departments?.length) add('ev.co', { names: k.co_departments.map(departmentName).join('、') });
      deadline(k.deadline);
      break;
    case 'self_settled':
    case 'feedback_given':
      if (k.note) add('ev.note', { text: k.note });
      if (k.evidence?.length) evidence = evidenceBlock(k.evidence);
      deadline(k.deadline);
      break;
    case 'returned':
    case 'verification_failed':
      if (k.reason) add('ev.reason', { text: k.reason });
      deadline(k.deadline);
      break;
    case 'verified':
    case 'long_term_resumed':
      if (k.note) add('ev.note', { text: k.note });
      deadline(k.deadline);
      break;
    case 'rejected':
    case 'extension_denied':
    case 'long_term_set':
      if (k.reason) add('ev.reason', { text: k.reason });
      break;
    case 'closed':
    case 'supervision_issued':
      if (k.note) add('ev.note', { text: k.note });
      break;
    case 'rated':
      if (k.rating) add('ev.score', { score: k.rating.score });
      if (k.rating?.comment) add('ev.note', { text: k.rating.comment });
      break;
    case 'extension_requested':
      add('ev.hours', { hours: k.hours });
      if (k.reason) add('ev.reason', { text: k.reason });
      break;
    case 'extension_approved':
      add('ev.hours', { hours: k.hours });
      if (k.due_at) add('ev.new_due', { time: fmtTime(k.due_at) });
      break;
    case 'escalated':
      add('ev.escalated', { from: tierName(k.from), to: tierName(k.to) });
      if (k.co_departments?.length) add('ev.co', { names: k.co_departments.map(departmentName).join('、') });
      if (k.reason) add('ev.reason', { text: k.reason });
      break;
    case 'merged_into':
      lines.push(el('div', {}, el('a', { href: `#case=${k.target}` }, t('ev.target', { id: k.target }))));
      break;
    case 'duplicate_absorbed':
      lines.push(el('div', {}, el('a', { href: `#case=${k.source}` }, t('ev.source', { id: k.source }))));
      break;
    default:
      break;
  }
  const actor = event.actor || {};
  const who = [roleName(actor.role), actor.person && actor.person !== actor.role ? actor.person : null].filter(Boolean).join(' · ');
  return el(
    'li',
    { class: `event ev-${type}`, dataset: { kind: type || '' } },
    el('div', { class: 'ev-head' },
      el('strong', {}, t(`event.${type}`)),
      el('time', { datetime: event.at, class: 'small muted' }, fmtTime(event.at))),
    who ? el('div', { class: 'ev-who small muted' }, who) : null,
    facts.length ? el('div', { class: 'ev-facts small' }, facts.join(' · ')) : null,
    lines.length ? el('div', { class: 'ev-lines small' }, lines) : null,
    evidence,
  );
}

// ---------------------------------------------------------------- duplicates

async function loadDuplicates(detail) {
  const c = detail.case;
  const box = $('#duplicates');
  if (!box || FINAL.has(c.state)) return;
  let found;
  try {
    found = await api(`/api/cases/${c.id}/duplicates`);
  } catch (error) {
    if (S.detail?.case.id === c.id) box.lastChild.textContent = error instanceof ApiFailure ? error.message : t('error.internal');
    return;
  }
  if (S.detail?.case.id !== c.id || !box.isConnected) return;
  const canMerge = detail.allowed_commands.includes('merge_into');
  if (!found.length) {
    box.replaceChildren(el('h3', {}, t('desk.duplicates')), el('p', { class: 'small muted' }, t('desk.no_duplicates')));
    return;
  }
  box.replaceChildren(
    el('h3', {}, t('desk.duplicates')),
    el('ul', { class: 'dups' }, found.map((d) => el(
      'li',
      {},
      el('div', { class: 'dup-main' },
        el('a', { href: `#case=${d.case.id}` }, el('span', { class: 'mono' }, `#${d.case.id}`), ' ', d.case.title),
        el('div', { class: 'small muted' },
          [
            t('desk.similarity', { n: Math.round(d.similarity * 100) }),
            d.distance_m !== null && d.distance_m !== undefined ? t('desk.distance', { n: Math.round(d.distance_m) }) : null,
            t('desk.hours_apart', { n: Math.round(d.hours_apart * 10) / 10 }),
            stateName(d.case.state),
          ].filter(Boolean).join(' · '))),
      canMerge
        ? el('button', { type: 'button', class: 'small-button', dataset: { mergeInto: d.case.id }, onclick: () => openCommand('merge_into', { target: d.case.id }) },
          t('desk.merge_here', { id: d.case.id }))
        : null,
    ))),
  );
}

// ---------------------------------------------------------------- map inset

let map;
let mapLayer;
let mapKey;
let cellShapes;
let cellShapesReady = false;

function cellLayer() {
  cellShapes ??= api('/api/grid/cell').catch((error) => {
    cellShapes = undefined;
    throw error;
  });
  return cellShapes;
}

async function drawMap(c) {
  const slot = $('#map-slot');
  if (!slot || !window.L) return;
  const config = await uiConfig().catch(() => ({}));
  if (!slot.isConnected) return;
  if (!map) {
    const box = el('div', { class: 'map-inset', role: 'img', 'aria-label': t('desk.map_label') });
    slot.append(box);
    map = districtMap(box, config, { scrollWheelZoom: false });
  } else {
    slot.append(map.getContainer());
  }
  map.invalidateSize();
  const colour = COLOURS[runningDeadline(c)?.colour || 'none'];
  const key = `${c.id}|${c.cell}|${c.point?.lon},${c.point?.lat}|${colour}`;
  if (key === mapKey) return;
  mapKey = key;
  mapLayer?.remove();
  mapLayer = L.layerGroup().addTo(map);
  const note = $('#map-note');
  if (note && !cellShapesReady) note.textContent = t('desk.map_loading');
  let shapes;
  try {
    shapes = await cellLayer();
    cellShapesReady = true;
    if (note) note.textContent = '';
  } catch (error) {
    shapes = { features: [] };
    if (note) note.textContent = error instanceof ApiFailure ? error.message : t('error.internal');
  }
  if (mapKey !== key) return;
  const cell = shapes.features.find((f) => f.properties?.code === c.cell);
  const neighbours = cell ? shapes.features.filter((f) => f !== cell && f.properties?.parent === cell.properties.parent) : [];
  L.geoJSON(neighbours, { style: { color: '#8a99ab', weight: 1, fill: false }, interactive: false }).addTo(mapLayer);
  const outline = cell
    ? L.geoJSON(cell, {
      style: { color: '#0b4f8a', weight: 3, fillColor: '#0b4f8a', fillOpacity: 0.1, className: 'cell-outline' },
      interactive: false,
    }).addTo(mapLayer)
    : null;
  if (c.point) {
    L.circleMarker([c.point.lat, c.point.lon], { radius: 8, color: '#ffffff', weight: 3, fillColor: colour, fillOpacity: 1 })
      .bindTooltip(`#${c.id}`)
      .addTo(mapLayer);
  }
  const notes = [];
  if (!c.point) notes.push(t('desk.no_point'));
  if (!cell) notes.push(t('desk.no_cell_shape'));
  if (note && notes.length) note.textContent = notes.join(' ');
  if (outline) map.fitBounds(outline.getBounds(), { padding: [16, 16], maxZoom: 18 });
  else if (c.point) map.setView([c.point.lat, c.point.lon], 16);
  else map.setView([39.09, 117.31], 12);
}

// ---------------------------------------------------------------- command dialogs

class Invalid extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

let fieldSeq = 0;

function field(labelText, control, hint) {
  const id = control.id || `f-${++fieldSeq}`;
  control.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, labelText), control, hint ? el('div', { class: 'hint' }, hint) : null);
}

function textArea(id, rows = 3) {
  return el('textarea', { id, rows, maxlength: 5000 });
}

function need(control, messageKey) {
  const value = control.value.trim();
  if (!value) throw new Invalid(t(messageKey), control);
  return value;
}

function categorySelect(id, current) {
  const select = el('select', { id });
  const groups = new Map();
  for (const category of S.ref.categories) {
    if (!groups.has(category.major_name)) groups.set(category.major_name, []);
    groups.get(category.major_name).push(category);
  }
  for (const [major, categories] of groups) {
    select.append(el('optgroup', { label: major }, categories.map((c) => el('option', { value: c.code, selected: c.code === current }, `${c.name}（${c.code}）`))));
  }
  return select;
}

function departmentSelect(id, current) {
  return el('select', { id }, S.ref.departments.map((d) => el('option', { value: d.code, selected: d.code === current }, d.name)));
}

function departmentChecks(id, legend, exclude) {
  const box = el('fieldset', { class: 'checks', id },
    el('legend', {}, legend),
    el('div', { class: 'check-grid' }, S.ref.departments.map((d) => el('label', { class: 'check' },
      el('input', { type: 'checkbox', value: d.code, name: id }), el('span', {}, d.name)))));
  const setExcluded = (code) => {
    for (const input of box.querySelectorAll('input')) {
      const off = input.value === code;
      input.disabled = off;
      if (off) input.checked = false;
    }
  };
  if (exclude) setExcluded(exclude);
  return { box, setExcluded, values: () => [...box.querySelectorAll('input:checked')].map((i) => i.value) };
}

/** What each command asks for, and the JSON it sends. */
function commandSpec(name, c, options = {}) {
  const plain = (command, extra = {}) => ({ command, ...extra });
  switch (name) {
    case 'accept': {
      const select = categorySelect('f-category', c.category);
      return {
        fields: [field(t('f.category'), select)],
        collect: () => plain('accept', select.value !== c.category ? { category: select.value } : {}),
      };
    }
    case 'reject':
    case 'return':
    case 'deny_extension':
    case 'set_long_term': {
      const reason = textArea('f-reason');
      const intro = name === 'deny_extension' && c.pending_extension
        ? t('f.pending', { hours: c.pending_extension.hours, reason: c.pending_extension.reason })
        : null;
      return {
        extra: intro,
        fields: [field(t('f.reason'), reason)],
        collect: () => plain(name, { reason: need(reason, 'need.reason') }),
      };
    }
    case 'dispatch': {
      const fallback = S.ref.categoryByCode.get(c.category)?.department;
      const lead = departmentSelect('f-department', fallback);
      const co = departmentChecks('f-co', t('f.co_departments'), lead.value);
      lead.addEventListener('change', () => co.setExcluded(lead.value));
      const hint = fallback
        ? t('f.department_hint', { name: departmentName(fallback), category: c.category_name || categoryName(c.category) })
        : null;
      return {
        fields: [field(t('f.department'), lead, hint), co.box],
        collect: () => {
          if (!lead.value) throw new Invalid(t('need.department'), lead);
          return plain('dispatch', { department: lead.value, co_departments: co.values() });
        },
      };
    }
    case 'feedback':
    case 'self_settle': {
      const note = textArea('f-note');
      const files = el('input', { type: 'file', id: 'f-photos', class: 'file-input', accept: 'image/*', multiple: true });
      const chosen = el('span', { class: 'small muted' }, t('f.no_photos'));
      const picker = el('div', { class: 'field file-picker' },
        el('span', { class: 'label' }, t('f.photos')),
        el('div', { class: 'row' }, files, el('label', { for: 'f-photos', class: 'button' }, t('f.choose_photos')), chosen),
        el('div', { class: 'hint' }, t('f.photos_hint')));
      const preview = el('div', { class: 'photos preview' });
      const urls = [];
      files.addEventListener('change', () => {
        chosen.textContent = files.files.length ? t('f.photos_chosen', { n: files.files.length }) : t('f.no_photos');
        urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
        preview.replaceChildren(...[...files.files].map((file) => {
          const url = URL.createObjectURL(file);
          urls.push(url);
          return el('span', { class: 'thumb' }, el('img', { src: url, alt: file.name }));
        }));
      });
      return {
        fields: [picker, preview, field(t('f.note_optional'), note)],
        cleanup: () => urls.forEach((u) => URL.revokeObjectURL(u)),
        collect: () => {
          if (!files.files.length) throw new Invalid(t('need.photo'), files);
          return plain(name, { note: note.value.trim(), evidence: [] });
        },
        prepare: async (body, progress) => {
          const list = [...files.files];
          for (const [index, file] of list.entries()) {
            progress(t('desk.uploading', { i: index + 1, n: list.length }));
            const form = new FormData();
            form.append('photo', file, file.name);
            const answer = await api('/api/photos', { method: 'POST', form });
            body.evidence.push(...answer.photos);
          }
          return body;
        },
      };
    }
    case 'verify_pass':
    case 'verify_fail': {
      const passed = name === 'verify_pass';
      const note = textArea('f-note');
      return {
        fields: [field(passed ? t('f.note_optional') : t('f.reason'), note)],
        collect: () => plain('verify', { passed, note: passed ? note.value.trim() : need(note, 'need.reason') }),
      };
    }
    case 'close':
    case 'resume_from_long_term': {
      const note = textArea('f-note');
      return {
        fields: [field(t('f.note_optional'), note)],
        collect: () => plain(name, { note: note.value.trim() }),
      };
    }
    case 'supervise': {
      const note = textArea('f-note', 4);
      return {
        fields: [field(t('f.note'), note)],
        collect: () => plain('supervise', { note: need(note, 'need.note') }),
      };
    }
    case 'rate': {
      const score = el('select', { id: 'f-score' }, [5, 4, 3, 2, 1].map((n) => el('option', { value: n }, `${'★'.repeat(n)}${'☆'.repeat(5 - n)}  ${n}`)));
      const comment = textArea('f-comment', 2);
      return {
        fields: [field(t('f.score'), score), field(t('f.comment'), comment)],
        collect: () => plain('rate', { score: Number(score.value), comment: comment.value.trim() }),
      };
    }
    case 'request_extension': {
      const hours = el('input', { type: 'number', id: 'f-hours', min: 1, max: 500, step: 1, value: 8, inputmode: 'numeric' });
      const reason = textArea('f-reason');
      return {
        fields: [field(t('f.hours'), hours, t('f.hours_hint')), field(t('f.reason'), reason)],
        collect: () => {
          const n = Number(hours.value);
          if (!Number.isInteger(n) || n < 1 || n > 500) throw new Invalid(t('need.hours'), hours);
          return plain('request_extension', { hours: n, reason: need(reason, 'need.reason') });
        },
      };
    }
    case 'approve_extension':
      return {
        extra: c.pending_extension ? t('f.pending', { hours: c.pending_extension.hours, reason: c.pending_extension.reason }) : null,
        fields: [],
        collect: () => plain('approve_extension'),
      };
    case 'escalate': {
      const higher = TIERS.filter((tier) => TIERS.indexOf(tier) > TIERS.indexOf(c.tier)
        && (tier !== 'district' || S.me.role === 'commander'));
      const to = el('select', { id: 'f-tier' }, higher.map((tier) => el('option', { value: tier }, tierName(tier))));
      const reason = textArea('f-reason');
      const co = departmentChecks('f-co', t('f.co_departments'), c.department);
      return {
        fields: [field(t('f.to_tier'), to), field(t('f.reason'), reason), co.box],
        collect: () => {
          if (!to.value) throw new Invalid(t('need.tier'), to);
          return plain('escalate', { to: to.value, reason: need(reason, 'need.reason'), co_departments: co.values() });
        },
      };
    }
    case 'merge_into': {
      const target = el('input', { type: 'number', id: 'f-target', min: 1, step: 1, inputmode: 'numeric', value: options.target ?? '' });
      return {
        fields: [field(t('f.target'), target)],
        collect: () => {
          const into = Number(target.value);
          if (!Number.isInteger(into) || into < 1 || into === c.id) throw new Invalid(t('need.target'), target);
          return { into };
        },
        send: (body) => api(`/api/cases/${c.id}/merge`, { method: 'POST', body }),
      };
    }
    default:
      return { fields: [], collect: () => plain(name) };
  }
}

function openCommand(name, options = {}) {
  const detail = S.detail;
  if (!detail) return;
  const c = detail.case;
  const spec = commandSpec(name, c, options);
  // The version the person saw when they opened the form: if the case moves meanwhile, the
  // server refuses (409) instead of acting on a case they have not seen.
  S.dialog = { name, spec, id: c.id, version: c.version };
  $('#command-title').textContent = `${t(`cmd.${name}`)} · #${c.id}`;
  const intro = [t(`intro.${name}`), spec.extra].filter((s) => s && !s.startsWith('intro.')).join(' ');
  $('#command-intro').textContent = intro;
  $('#command-fields').replaceChildren(...spec.fields);
  const submit = $('#command-submit');
  submit.textContent = t(`cmd.${name}`);
  submit.className = DANGER.has(name) ? 'danger' : 'primary';
  submit.disabled = false;
  hideDialogError();
  const dialog = $('#command-dialog');
  dialog.showModal();
  const first = $('#command-fields').querySelector('textarea, input:not([type=checkbox]), select');
  (first || submit).focus();
}

function hideDialogError() {
  $('#command-error').classList.add('hidden');
  $('#command-refresh').classList.add('hidden');
}

function showDialogError(message, { refresh = false, invalid = false } = {}) {
  if (S.dialog) S.dialog.invalid = invalid;
  $('#command-error-text').textContent = message;
  $('#command-error').classList.remove('hidden');
  $('#command-refresh').classList.toggle('hidden', !refresh);
}

async function submitCommand(event) {
  event.preventDefault();
  const current = S.dialog;
  if (!current) return;
  const { spec, name, id, version } = current;
  hideDialogError();
  let body;
  try {
    body = spec.collect();
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    showDialogError(error.message, { invalid: true });
    error.field?.focus();
    return;
  }
  const submit = $('#command-submit');
  const label = submit.textContent;
  submit.disabled = true;
  submit.textContent = t('desk.sending');
  try {
    if (spec.prepare) body = await spec.prepare(body, (text) => { submit.textContent = text; });
    submit.textContent = t('desk.sending');
    if (spec.send) await spec.send(body);
    else await api(`/api/cases/${id}/commands`, { method: 'POST', query: { expected_version: version }, body });
    S.dialog = null;
    $('#command-dialog').close();
    // A department that returns a case hands it back: it is no longer theirs to see, so the page
    // goes back to the queue rather than reloading a case it may not read any more.
    if (name === 'return' && S.me.role === 'department_handler') {
      toast(t('desk.returned_away', { id }), 'ok');
      if (S.openId === id) location.hash = '';
      await loadQueue();
      return;
    }
    toast(t('desk.done', { what: `${t(`cmd.${name}`)} #${id}` }), 'ok');
    await Promise.all([S.openId === id ? loadCase() : null, loadQueue()]);
  } catch (error) {
    if (error instanceof ApiFailure) {
      const stale = error.code === 'version_conflict' || error.code === 'illegal_transition';
      showDialogError(error.message, { refresh: stale });
    } else {
      showDialogError(t('error.internal'));
      showError(error);
    }
  } finally {
    submit.disabled = false;
    submit.textContent = label;
  }
}

function wireDialogs() {
  const dialog = $('#command-dialog');
  $('#command-form').addEventListener('submit', submitCommand);
  const edited = () => {
    if (S.dialog?.invalid) hideDialogError();
  };
  $('#command-form').addEventListener('input', edited);
  $('#command-form').addEventListener('change', edited);
  $('#command-cancel').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    S.dialog?.spec.cleanup?.();
    S.dialog = null;
  });
  $('#command-refresh').addEventListener('click', async () => {
    dialog.close();
    await Promise.all([loadCase(), loadQueue()]);
  });
  const photo = $('#photo-dialog');
  $('#photo-close').addEventListener('click', () => photo.close());
  photo.addEventListener('click', (event) => {
    if (event.target === photo) photo.close();
  });
}

// ---------------------------------------------------------------- proposals (建议提案)

// The desk registers a 人大代表建议 or 政协委员提案 handed over for handling as a case of its own
// kind: POST /api/cases with a `proposal` (docs/supervision.md, "Proposals"). The place is a grid
// cell, chosen street → community → cell or with a pin on the grid map.

/** Without a date on the document, a proposal is due this many calendar months after filing. */
const PROPOSAL_MONTHS = 3;
/** China has one offset all year (no summer time): the wall clock is UTC+8. */
const CHINA_MS = 8 * 3600 * 1000;
const P = { map: null, ready: null, features: [], mine: [], chosen: null, marker: null, point: null, home: null };

function canFileProposals() {
  return S.me?.role === 'dispatcher' || S.me?.role === 'commander';
}

/** The server's rule for a proposal without a date: 3 calendar months on the China calendar, the
 * same time of day, a month end clamped (30 November → 28/29 February). */
function defaultProposalDue(now = serverNow()) {
  const local = new Date(now + CHINA_MS); // its UTC fields read as the China wall clock
  const month = local.getUTCMonth() + PROPOSAL_MONTHS;
  const lastDay = new Date(Date.UTC(local.getUTCFullYear(), month + 1, 0)).getUTCDate();
  const due = Date.UTC(local.getUTCFullYear(), month, Math.min(local.getUTCDate(), lastDay),
    local.getUTCHours(), local.getUTCMinutes(), local.getUTCSeconds());
  return new Date(due - CHINA_MS).toISOString();
}

/** Today's date in China, as a date input writes it (YYYY-MM-DD). */
function chinaToday(now = serverNow()) {
  return new Date(now + CHINA_MS).toISOString().slice(0, 10);
}

/** A date the document carries means the end of that working day (18:00) in China. */
function dueAtOfDate(value) {
  return value ? new Date(`${value}T18:00:00+08:00`).toISOString() : null;
}

/** Whether an area (or its subtree) is within the account's scope; an empty scope limits nothing. */
function inScope(code) {
  const areas = S.me?.scope?.areas || [];
  return !areas.length || areas.some((area) => code.startsWith(area) || area.startsWith(code));
}

function areasUnder(parent, level) {
  return S.ref.areas.filter((a) => a.level === level && a.parent === parent && inScope(a.code));
}

function fillSelect(select, areas, promptKey, value = '') {
  select.replaceChildren(
    el('option', { value: '' }, t(promptKey)),
    ...areas.map((a) => el('option', { value: a.code }, a.name)),
  );
  select.value = areas.some((a) => a.code === value) ? value : '';
  select.disabled = !areas.length;
}

/** Sets the three selects to a cell (or clears them below a street or community). */
function selectCell(cell) {
  const area = cell ? S.ref.areaByCode.get(cell) : null;
  const community = area ? S.ref.areaByCode.get(area.parent) : null;
  const street = community ? community.parent : $('#p-street').value;
  $('#p-street').value = street || '';
  fillSelect($('#p-community'), street ? areasUnder(street, 'community') : [], 'desk.proposal.choose_community', community?.code);
  fillSelect($('#p-cell'), community ? areasUnder(community.code, 'cell') : [], 'desk.proposal.choose_cell', cell);
}

function describePlace() {
  const where = $('#p-where');
  const cell = $('#p-cell').value;
  where.classList.remove('warn');
  if (!cell) {
    where.textContent = t('desk.proposal.where_none');
    return;
  }
  const name = S.ref.areaByCode.get(cell)?.name || cell;
  where.textContent = t(P.point ? 'desk.proposal.where_pin' : 'desk.proposal.where_cell', { name, code: cell });
}

/** Outlines the chosen cell (or the cells of the chosen community or street) on the map; `fit`
 * frames them. */
function showChosen(fit) {
  if (!P.map) return;
  P.chosen?.remove();
  P.chosen = null;
  const cell = $('#p-cell').value;
  const area = cell || $('#p-community').value || $('#p-street').value;
  const features = area ? P.mine.filter((f) => String(f.properties?.code || '').startsWith(area)) : [];
  if (!features.length) return;
  const style = cell
    ? { color: '#c2410c', weight: 2.5, fillColor: '#f59e0b', fillOpacity: 0.2, className: 'p-chosen' }
    : { color: '#c2410c', weight: 1, dashArray: '4 3', fillColor: '#f59e0b', fillOpacity: 0.06 };
  P.chosen = L.geoJSON({ type: 'FeatureCollection', features }, { interactive: false, style }).addTo(P.map);
  if (fit) P.map.fitBounds(P.chosen.getBounds(), { padding: [24, 24], maxZoom: 16 });
}

function clearPin() {
  P.point = null;
  P.marker?.remove();
  P.marker = null;
}

function setPin(lon, lat) {
  hideProposalError();
  const found = featureAt(P.mine, [lon, lat]);
  if (!found) {
    clearPin();
    $('#p-where').textContent = t('desk.proposal.where_outside');
    $('#p-where').classList.add('warn');
    return;
  }
  P.point = { lon, lat };
  if (!P.marker) P.marker = L.marker([lat, lon], { keyboard: false }).addTo(P.map);
  else P.marker.setLatLng([lat, lon]);
  selectCell(found.properties.code);
  showChosen(false);
  describePlace();
}

/** Builds the grid map once (the dialog must be open, so that the map has its size). */
function buildProposalMap() {
  P.ready ??= (async () => {
    const box = $('#p-map');
    const config = await uiConfig();
    const map = districtMap(box, config, { keyboard: true, scrollWheelZoom: false });
    const [cells, streets] = await Promise.all([cellLayer(), api('/api/grid/street')]);
    P.features = cells.features || [];
    P.mine = P.features.filter((f) => inScope(String(f.properties?.code || '')));
    L.geoJSON({ type: 'FeatureCollection', features: P.features },
      { interactive: false, style: { color: '#8a99ab', weight: 0.5, opacity: 0.6, fill: false } }).addTo(map);
    const mine = L.geoJSON({ type: 'FeatureCollection', features: P.mine },
      { interactive: false, style: { color: '#0b4f8a', weight: 0.7, opacity: 0.7, fillColor: '#0b4f8a', fillOpacity: 0.05 } }).addTo(map);
    L.geoJSON(streets, { interactive: false, style: { color: '#083a66', weight: 2, opacity: 0.9, fill: false } }).addTo(map);
    P.home = P.mine.length ? mine.getBounds() : null;
    pinOnClickOrEnter(map, setPin);
    P.map = map;
  })();
  return P.ready;
}

function updateDueHint() {
  const value = $('#p-due').value;
  $('#p-due-hint').textContent = value
    ? t('desk.proposal.due_given', { time: fmtTime(dueAtOfDate(value)) })
    : t('desk.proposal.due_default', { time: fmtTime(defaultProposalDue()) });
}

function hideProposalError() {
  $('#proposal-error').classList.add('hidden');
}

function showProposalError(message) {
  $('#proposal-error-text').replaceChildren(message);
  $('#proposal-error').classList.remove('hidden');
}

async function openProposal() {
  $('#proposal-form').reset();
  hideProposalError();
  clearPin();
  const streets = S.ref.areas.filter((a) => a.level === 'street' && inScope(a.code));
  // A dispatcher of one street starts in it.
  fillSelect($('#p-street'), streets, 'desk.proposal.choose_street', streets.length === 1 ? streets[0].code : '');
  selectCell(null);
  describePlace();
  $('#p-due').min = chinaToday();
  updateDueHint();
  $('#proposal-submit').disabled = false;
  $('#proposal-dialog').showModal();
  $('#proposal-form input[name="proposal-kind"]:checked').focus();
  try {
    await buildProposalMap();
  } catch (error) {
    P.ready = null;
    $('#p-where').textContent = t('desk.proposal.map_failed');
    $('#p-map').classList.add('hidden');
    if (!(error instanceof ApiFailure)) console.warn(error);
    return;
  }
  $('#p-map').classList.remove('hidden');
  P.map.invalidateSize();
  if (P.home) P.map.fitBounds(P.home, { padding: [8, 8] });
  else P.map.setView([39.09, 117.33], 12);
  showChosen(false);
}

function collectProposal() {
  const value = (id) => $(id).value.trim();
  const required = (id, key) => {
    const text = value(id);
    if (!text) throw new Invalid(t(key), $(id));
    return text;
  };
  const kind = $('#proposal-form input[name="proposal-kind"]:checked').value;
  const number = required('#p-number', 'need.p_number');
  const proposer = required('#p-proposer', 'need.p_proposer');
  const title = required('#p-title', 'need.p_title');
  const due = $('#p-due').value;
  if (due && due < chinaToday()) throw new Invalid(t('need.p_due'), $('#p-due'));
  const cell = $('#p-cell').value;
  if (!cell) {
    const first = ['#p-street', '#p-community', '#p-cell'].map((id) => $(id)).find((select) => !select.value && !select.disabled);
    throw new Invalid(t('need.p_place'), first || $('#p-street'));
  }
  const body = {
    title,
    description: value('#p-content'),
    proposal: { kind, number, proposer },
  };
  const session = value('#p-session');
  if (session) body.proposal.session = session;
  if (due) body.proposal.due_at = dueAtOfDate(due);
  // A pin gives the point (the server finds its cell); otherwise the chosen cell.
  if (P.point) body.location = { lon: P.point.lon, lat: P.point.lat };
  else body.cell = cell;
  return body;
}

async function submitProposal(event) {
  event.preventDefault();
  hideProposalError();
  let body;
  try {
    body = collectProposal();
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    showProposalError(error.message);
    error.field?.focus();
    return;
  }
  const submit = $('#proposal-submit');
  const label = submit.textContent;
  submit.disabled = true;
  submit.textContent = t('desk.sending');
  try {
    const outcome = await api('/api/cases', { method: 'POST', body });
    const id = outcome.case.id;
    $('#proposal-dialog').close();
    toast(t('desk.proposal.done', { number: body.proposal.number, id }), 'ok');
    S.focusOpened = true;
    location.hash = `case=${id}`;
    loadQueue();
  } catch (error) {
    // The API's refusal, as a sentence in the dialog (it stays open with what was typed).
    showProposalError(errorSentence(error));
    if (!(error instanceof ApiFailure)) showError(error);
  } finally {
    submit.disabled = false;
    submit.textContent = label;
  }
}

function wireProposals() {
  if (!canFileProposals()) return;
  const opener = $('#proposal-open');
  opener.classList.remove('hidden');
  opener.addEventListener('click', openProposal);
  $('#proposal-form').addEventListener('submit', submitProposal);
  $('#proposal-cancel').addEventListener('click', () => $('#proposal-dialog').close());
  $('#proposal-form').addEventListener('input', hideProposalError);
  $('#p-due').addEventListener('input', updateDueHint);
  $('#p-due').addEventListener('change', updateDueHint);
  // A choice in the lists replaces a pin; the map frames what was chosen.
  const picked = () => {
    clearPin();
    hideProposalError();
    describePlace();
    showChosen(true);
  };
  $('#p-street').addEventListener('change', () => {
    selectCell(null);
    picked();
  });
  $('#p-community').addEventListener('change', () => {
    const community = $('#p-community').value;
    fillSelect($('#p-cell'), community ? areasUnder(community, 'cell') : [], 'desk.proposal.choose_cell');
    picked();
  });
  $('#p-cell').addEventListener('change', picked);
}

// ---------------------------------------------------------------- live feed

// Browsers open at most six connections to one server over HTTP/1.1, and every feed holds one
// for good: so one tab per account holds the feed (a Web Lock) and passes its events to the
// account's other desk tabs (a BroadcastChannel). When that tab closes, another takes over.
function startFeed() {
  if (!window.EventSource || !token()) return;
  const name = `onegrid.desk.feed.${S.me.id}`;
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel(name) : null;
  const handle = (data) => {
    if (!data || typeof data !== 'object') return;
    reloadQueueSoon();
    // The business clock moved (a training server): every deadline colour may have changed.
    if (data.case_id === S.openId || (data.clock && S.openId)) reloadCaseSoon();
  };
  channel?.addEventListener('message', async (event) => {
    if (event.data?.clock) await syncClock();
    handle(event.data);
  });
  const listen = () => new Promise((done) => {
    const source = new EventSource(`/api/feed?access_token=${encodeURIComponent(token())}`);
    const onEvent = (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      handle(data);
      channel?.postMessage(data);
    };
    for (const kind of EVENT_KINDS) source.addEventListener(kind, onEvent);
    source.addEventListener('message', onEvent);
    source.addEventListener('clock', async () => {
      await syncClock();
      handle({ clock: true });
      channel?.postMessage({ clock: true });
    });
    // Closed for good (signed out, say): let another tab, with its own session, take over.
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) done();
    });
    window.addEventListener('pagehide', () => {
      source.close();
      done();
    });
  });
  if (channel && navigator.locks) navigator.locks.request(name, listen);
  else listen();
}

// ---------------------------------------------------------------- start

async function main() {
  translatePage();
  document.title = `${t('app.name')} · ${t('desk.title')}`;
  // /api/me answers {person, expires_at}; read the account from either shape.
  const answer = await requireSignIn();
  const me = answer?.person ?? answer;
  if (!ROLES.includes(me.role)) {
    location.href = homeFor(me.role);
    return;
  }
  S.me = me;
  topBar(me, 'desk');
  S.ref = await reference();
  fillCategories();
  wireQueue();
  wireDialogs();
  wireProposals();
  window.addEventListener('hashchange', route);
  route();
  await loadQueue();
  startFeed();
  // Deadlines move with the clock: redraw their words every minute, reload every five.
  setInterval(() => renderQueue(), 60_000);
  setInterval(() => loadQueue(), 300_000);
}

main().catch(showError);
