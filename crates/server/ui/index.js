// Sign-in page: signs in (or registers a citizen), then goes back where the person came from or to
// their role's home page.
import { addStrings, api, el, homeFor, saveSession, showError, t, token, person, topBar, translatePage, ApiFailure } from '/ui/common.js';

addStrings({
  zh: {
    'signin.heading': '一张网格管全域',
    'signin.about': '东丽区网格化社会治理平台：市民、网格员、12345 热线和各类感知设备上报的每件事，定位到网格、分类、派遣到责任部门，限时办结、核查、评价，全程留痕。',
    'signin.title': '登录',
    'signin.person': '账号',
    'signin.password': '密码',
    'signin.submit': '登录',
    'signin.empty': '请填写账号和密码。',
    'signin.citizen_hint': '市民没有账号时，可以先注册再上报。',
    'signin.demo_title': '演示账号',
    'signin.demo_text': '演示数据库中每个账号的密码都是 onegrid-demo。',
    'register.open': '市民注册',
    'register.name': '姓名',
    'register.phone': '手机号',
    'register.done': '注册成功。您的账号是 {id}，请记下它，以后用它和密码登录。',
    'register.continue': '继续上报',
    'register.password': '密码（至少 8 位）',
    'register.submit': '注册并登录',
  },
  en: {
    'signin.heading': 'One grid for the whole district',
    'signin.about': 'Dongli district grid governance: every report from citizens, grid workers, the 12345 hotline and sensors is located into its cell, classified, sent to the department responsible, handled against a deadline, verified and rated, with every step on record.',
    'signin.title': 'Sign in',
    'signin.person': 'Account',
    'signin.password': 'Password',
    'signin.submit': 'Sign in',
    'signin.empty': 'Enter your account and password.',
    'signin.citizen_hint': 'Citizens without an account can register, then report.',
    'signin.demo_title': 'Demo accounts',
    'signin.demo_text': 'In the demo database every account’s password is onegrid-demo.',
    'register.open': 'Register as a citizen',
    'register.name': 'Name',
    'register.phone': 'Mobile phone',
    'register.done': 'You are registered. Your account is {id}: note it down to sign in with it and your password later.',
    'register.continue': 'Go on to report',
    'register.password': 'Password (at least 8 characters)',
    'register.submit': 'Register and sign in',
  },
});

const DEMO = [
  ['citizen', 'citizen'],
  ['gridworker', 'grid_worker'],
  ['dispatcher', 'dispatcher'],
  ['handler', 'department_handler'],
  ['commander', 'commander'],
  ['supervisor', 'supervisor'],
];

function next(role) {
  const wanted = new URLSearchParams(location.search).get('next');
  // Only paths on this server: never an address elsewhere.
  return wanted && wanted.startsWith('/') && !wanted.startsWith('//') ? wanted : homeFor(role);
}

const errorBox = document.getElementById('signin-error');

async function signIn(account, password) {
  const login = await api('/api/auth/login', { method: 'POST', body: { person: account, password } });
  saveSession(login);
  location.href = next(login.person.role);
}

document.getElementById('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  errorBox.textContent = '';
  const account = document.getElementById('person').value.trim();
  const password = document.getElementById('password').value;
  if (!account || !password) {
    errorBox.textContent = t('signin.empty');
    return;
  }
  try {
    await signIn(account, password);
  } catch (error) {
    errorBox.textContent = error instanceof ApiFailure && error.status === 401 ? t('error.login') : error.message;
  }
});

document.getElementById('register').addEventListener('click', async () => {
  errorBox.textContent = '';
  const value = (id) => document.getElementById(id).value.trim();
  try {
    const login = await api('/api/auth/register', {
      method: 'POST',
      body: { name: value('reg-name'), phone: value('reg-phone'), password: document.getElementById('reg-password').value },
    });
    saveSession(login);
    document.getElementById('registered-text').textContent = t('register.done', { id: login.person.id });
    document.getElementById('registered-go').href = next(login.person.role);
    document.getElementById('registered').classList.remove('hidden');
  } catch (error) {
    errorBox.textContent = error.message;
  }
});

const list = document.getElementById('demo-accounts');
for (const [id, role] of DEMO) {
  list.append(
    el('li', {}, el('button', {
      type: 'button',
      class: 'link',
      onclick: () => {
        document.getElementById('person').value = id;
        document.getElementById('password').value = 'onegrid-demo';
        document.getElementById('password').focus();
      },
    }, id), ` — ${role.replace('_', ' ')}`),
  );
}

translatePage();
topBar(token() ? person() : null, 'signin');
