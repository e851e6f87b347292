// The PUBLIC BYOD enrolment page (/enrol?code=…): what is monitored, the acceptable use
// agreement exactly as the collector will record it (version and SHA-256), and the one command
// to run. Nothing here needs a staff session.
import { api } from '../api.js';
import { ext, h, mount } from '../h.js';
import { renderError } from '../ui.js';

const CODE = /^[A-Za-z0-9-]{4,64}$/;

/** Quotes a value for a POSIX shell: the code is checked against CODE, but quote anyway. @param {string} s */
function shq(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** @param {HTMLElement} main */
export async function render(main) {
  const raw = new URLSearchParams(location.search).get('code') ?? '';
  const code = CODE.test(raw) ? raw : '';
  let agreement;
  try {
    agreement = await api.agreement();
  } catch (err) {
    mount(main, h('h1', null, 'Enrol your own device'), renderError(err));
    return;
  }
  const server = location.origin;
  const command = code
    ? `custodian-agent enrol --server ${shq(server)} --code ${shq(code)} --name 'YOUR NAME' --accept-agreement`
    : null;
  const copy = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        if (!command) return;
        try {
          await navigator.clipboard.writeText(command);
          copy.textContent = 'Copied';
        } catch {
          copy.textContent = 'Select the text and copy it';
        }
      },
    },
    'Copy command',
  );
  mount(
    main,
    h('h1', null, 'Enrol your own device'),
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'What Custodian does on your device'),
      h(
        'ul',
        null,
        h('li', null, 'Locks the screen after the idle time your school sets.'),
        h('li', null, 'Stops files being copied to unencrypted USB storage.'),
        h('li', null, 'Records the active application and window title while the agent runs.'),
        h(
          'li',
          null,
          'When a window shows words that may mean someone is at risk, takes a screenshot that only the safeguarding lead can see.',
        ),
        h(
          'li',
          null,
          'You can see the agent’s status with "custodian-agent status" and unenrol when you leave.',
        ),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'BYOD acceptable use agreement'),
      h(
        'p',
        { class: 'muted small' },
        `Version ${String(agreement.version ?? '')} · SHA-256 `,
        h('code', null, String(agreement.sha256 ?? '')),
      ),
      h('pre', { class: 'agreement', tabindex: '0' }, String(agreement.text ?? '')),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Enrol'),
      command
        ? [
            h(
              'p',
              null,
              'Install the agent, then run this command in a terminal as administrator, with your own name in place of YOUR NAME. Running it records that you accept the agreement above (this version, with its SHA-256). Leave out --accept-agreement to read the agreement in the terminal and confirm there.',
            ),
            h('pre', { class: 'command', id: 'enrol-command' }, command),
            copy,
          ]
        : h(
            'p',
            null,
            raw
              ? ['This code is not valid: ', ext(raw, 40), '. Ask IT for a new one.']
              : 'You need an enrolment code from IT. Open the link they gave you.',
          ),
    ),
  );
}
