// Chinese first, English on request; the choice is remembered on this device.
const dict = {
  title_caller: ['手语视频服务', 'Sign language video service'],
  title_interp: ['手语翻译员工作台', 'Interpreter console'],
  title_guest: ['加入手语翻译通话', 'Join an interpreted call'],
  lang_toggle: ['English', '中文'],
  lang_toggle_aria: ['Switch to English', '切换到中文'],
  purpose: ['您需要什么帮助？', 'What do you need help with?'],
  purpose_policy_consultation: ['政策咨询', 'Policy question'],
  purpose_daily_life: ['生活求助', 'Daily life'],
  purpose_emergency: ['紧急求助', 'Emergency'],
  sign_language: ['手语', 'Sign language'],
  call_button: ['呼叫手语翻译员', 'Call a sign interpreter'],
  emergency_button: ['紧急呼叫', 'Emergency call'],
  your_name: ['您的称呼（可不填）', 'Your name (optional)'],
  waiting: ['正在排队', 'Waiting in line'],
  position: ['前面还有 {n} 位', '{n} ahead of you'],
  position_next: ['下一位就是您', 'You are next'],
  est_wait: ['预计等待约 {t}', 'Estimated wait about {t}'],
  est_unknown: ['暂无翻译员在线，请稍候或改用文字', 'No interpreter is online yet'],
  connecting: ['正在接通翻译员…', 'Ringing an interpreter…'],
  cancel: ['取消呼叫', 'Cancel call'],
  answered: ['翻译员已接听', 'The interpreter answered'],
  interp_lost: ['翻译员连接中断，已为您优先重新排队', 'The interpreter was disconnected; you are first in line again'],
  ended: ['通话已结束', 'The call has ended'],
  call_again: ['再次呼叫', 'Call again'],
  camera: ['摄像头', 'Camera'],
  mic: ['麦克风', 'Microphone'],
  on: ['开', 'on'],
  off: ['关', 'off'],
  hang_up: ['挂断', 'Hang up'],
  invite: ['邀请听人加入', 'Invite a hearing party'],
  invite_link: ['邀请链接（一次有效，{m} 分钟内）', 'Invitation link (one use, {m} minutes)'],
  copy: ['复制', 'Copy'],
  copied: ['已复制', 'Copied'],
  text_panel: ['文字对话', 'Text conversation'],
  text_input: ['在此输入，对方实时看到', 'Type here; others see it as you type'],
  send_line: ['换行发送', 'Send line'],
  typing: ['正在输入', 'typing'],
  you: ['我', 'Me'],
  text_size: ['文字大小', 'Text size'],
  bigger: ['放大文字', 'Larger text'],
  smaller: ['缩小文字', 'Smaller text'],
  self_view: ['我的画面', 'My camera'],
  role_caller: ['来电者', 'Caller'],
  role_interpreter: ['翻译员', 'Interpreter'],
  role_guest: ['听人来宾', 'Hearing guest'],
  login: ['登录', 'Sign in'],
  username: ['用户名', 'User name'],
  password: ['密码', 'Password'],
  presence: ['状态', 'Status'],
  available: ['空闲可接听', 'Available'],
  away: ['暂离', 'Away'],
  ringing: ['来电中', 'Ringing'],
  busy: ['通话中', 'In a call'],
  set_available: ['设为空闲', 'Set available'],
  set_away: ['设为暂离', 'Set away'],
  queue: ['排队中的来电', 'Calls waiting'],
  queue_empty: ['暂无排队', 'Nobody is waiting'],
  staffing: ['空闲 {a} · 忙碌 {b} · 暂离 {c}', 'Available {a} · Busy {b} · Away {c}'],
  incoming: ['新来电', 'Incoming call'],
  accept: ['接听', 'Accept'],
  decline: ['拒接', 'Decline'],
  waited: ['已等 {t}', 'waited {t}'],
  requeued: ['断线重排', 'requeued'],
  missed: ['未接来电，已设为暂离', 'Missed call: you are now away'],
  guest_intro: ['您受邀加入一通手语翻译通话。', 'You are invited to an interpreted call.'],
  join: ['加入通话', 'Join the call'],
  no_token: ['邀请链接不完整。', 'This invitation link is incomplete.'],
  media_denied: ['无法使用摄像头或麦克风：{e}', 'Camera or microphone unavailable: {e}'],
  disconnected: ['与服务器的连接已断开，请刷新页面', 'Lost connection to the server; please reload'],
  error: ['出错：{e}', 'Error: {e}'],
  captions: ['实时字幕', 'Live captions'],
  cap_smaller: ['缩小字幕', 'Smaller captions'],
  cap_bigger: ['放大字幕', 'Larger captions'],
  cap_contrast: ['字幕配色', 'Caption colours'],
  cap_light_on_dark: ['黑底白字', 'white on black'],
  cap_yellow_on_black: ['黑底黄字', 'yellow on black'],
  cap_dark_on_light: ['白底黑字', 'black on white'],
  cap_position: ['字幕位置', 'Caption position'],
  cap_save: ['保存字幕到本机', 'Save captions to this device'],
  captioned_hint: ['与听人交谈，不需要翻译员：对方说的话实时变成字幕。', 'Talk with a hearing person without an interpreter: what they say becomes captions.'],
  captioned_button: ['字幕通话（邀请听人）', 'Captioned call (invite a hearing person)'],
  captioned_started: ['字幕通话已开始，请把邀请链接发给对方', 'Captioned call started: send the invitation link to the other person'],
  captions_off: ['本服务器未开启字幕', 'Captions are not available on this server'],
  title_watch: ['新闻发布会直播', 'Press briefing live'],
  title_stage: ['发布会主播台', 'Briefing stage'],
  title_organize: ['发布会管理', 'Briefing organizer'],
  speaker: ['发言人', 'Speaker'],
  sign_interpreter: ['手语翻译', 'Sign interpreter'],
  interp_size: ['手语画面大小', 'Interpreter size'],
  transcript: ['文字记录', 'Transcript'],
  download: ['下载', 'Download'],
  state_scheduled: ['尚未开始', 'Not started yet'],
  state_live: ['直播中', 'Live'],
  state_paused: ['暂停：发言人连接中断，恢复后自动继续', 'Paused: the speaker was disconnected; it resumes when they return'],
  state_ended: ['已结束', 'Ended'],
  live_badge: ['实时', 'LIVE'],
  delay_badge: ['字幕延迟 {s} 秒', 'Captions {s} s behind'],
  degraded: ['字幕服务繁忙，字幕会慢一些', 'The caption service is busy; captions come more slowly'],
  no_interp: ['手语翻译尚未接入', 'The sign interpreter has not joined yet'],
  starts_at: ['计划开始：{t}', 'Planned start: {t}'],
  go_live: ['开始直播', 'Go live'],
  stop_live: ['结束我的直播', 'Stop my broadcast'],
  stage_role_broadcaster: ['您是本场发言人（主播）', 'You are the speaker of this briefing'],
  stage_role_interpreter: ['您是本场手语翻译', 'You are the sign interpreter of this briefing'],
  bad_link: ['链接不完整或已失效', 'This link is incomplete or no longer valid'],
  reconnecting: ['连接中断，正在重连…', 'Connection lost; reconnecting…'],
  event_title: ['标题', 'Title'],
  event_language: ['发言语言', 'Spoken language'],
  event_hotwords: ['专有名词（逗号分隔，帮助字幕识别）', 'Names and terms (comma-separated, help the captions)'],
  event_start: ['计划开始时间', 'Planned start'],
  create_event: ['创建发布会', 'Create briefing'],
  my_events: ['我的发布会', 'My briefings'],
  link_broadcaster: ['发言人链接（保密）', 'Speaker link (keep private)'],
  link_interpreter: ['手语翻译链接（保密）', 'Interpreter link (keep private)'],
  link_viewer: ['观众链接（公开）', 'Viewer link (public)'],
  link_whip: ['OBS 推流地址（WHIP）', 'OBS stream URL (WHIP)'],
  whip_token: ['推流令牌（Bearer Token）', 'Stream token (Bearer token)'],
  end_event: ['结束发布会', 'End briefing'],
  viewers: ['观众 {n}', '{n} watching'],
  title_admin: ['服务管理', 'Service dashboard'],
  logout: ['退出', 'Sign out'],
  live_now: ['实时状况', 'Right now'],
  live_calls: ['排队 {w} · 振铃 {r} · 通话中 {c}', 'Waiting {w} · Ringing {r} · In calls {c}'],
  service_levels: ['服务水平', 'Service levels'],
  from: ['从', 'From'],
  to: ['到', 'To'],
  show: ['查看', 'Show'],
  export_csv: ['导出 CSV', 'Export CSV'],
  per_hour: ['每小时来电', 'Calls per hour'],
  per_purpose: ['按用途', 'By purpose'],
  fig_offered: ['来电（需翻译）', 'Interpreted calls'],
  fig_answered: ['已接听', 'Answered'],
  fig_within30: ['30 秒内接听', 'Answered within 30 s'],
  fig_within120: ['120 秒内接听', 'Answered within 120 s'],
  fig_asa: ['接听用时 p50 / p80 / p95', 'Speed of answer p50 / p80 / p95'],
  fig_abandoned: ['放弃率（放弃 + 无翻译员）', 'Abandonment (gave up + no interpreter)'],
  fig_captioned: ['字幕通话', 'Captioned calls'],
  users: ['用户管理', 'Users'],
  display_name: ['显示名', 'Display name'],
  role: ['角色', 'Role'],
  role_admin: ['管理员', 'Admin'],
  role_organizer: ['发布会组织者', 'Organizer'],
  role_broadcaster: ['发言人', 'Speaker'],
  role_viewer: ['观众', 'Viewer'],
  add_user: ['添加用户', 'Add user'],
  disabled: ['已停用', 'switched off'],
  enable: ['启用', 'Switch on'],
  disable: ['停用', 'Switch off'],
  not_admin: ['此账号不是管理员', 'This account is not an admin'],
  seconds: ['{n} 秒', '{n} s'],
  minutes: ['{n} 分钟', '{n} min'],
};

let lang = localStorage.getItem('signrelay.lang') || 'zh';

export function currentLang() { return lang; }

export function t(key, vars = {}) {
  const pair = dict[key];
  let s = pair ? pair[lang === 'en' ? 1 : 0] : key;
  for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, v);
  return s;
}

export function duration(secs) {
  return secs < 60 ? t('seconds', { n: secs }) : t('minutes', { n: Math.round(secs / 60) });
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-aria]').forEach((el) => el.setAttribute('aria-label', t(el.dataset.i18nAria)));
  root.querySelectorAll('[data-i18n-ph]').forEach((el) => el.setAttribute('placeholder', t(el.dataset.i18nPh)));
}

export function setupLangToggle(onChange) {
  const btn = document.getElementById('lang-toggle');
  if (!btn) return;
  btn.addEventListener('click', () => {
    lang = lang === 'en' ? 'zh' : 'en';
    localStorage.setItem('signrelay.lang', lang);
    applyI18n();
    if (onChange) onChange();
  });
  applyI18n();
}
