// Custodian extension, content script (every frame of http/https pages). Sends to the service
// worker: the page's URL once per navigation, the visible text (on load and after significant
// DOM changes, debounced, at most 32 KiB), and text typed into inputs, textareas and
// contenteditable elements (after a pause, on Enter, on leaving the field). It never reads
// password fields or fields whose autocomplete names a credential or payment detail, and it
// keeps no keyword list: the agent decides what matters.

(() => {
  const MAX_PAGE = 32768;
  const MAX_TYPED = 2048;
  const PAGE_DEBOUNCE_MS = 1500;
  const TYPED_DEBOUNCE_MS = 1000;
  // autocomplete tokens that mark credentials, one-time codes and payment details
  const SECRET_AUTOCOMPLETE =
    /(^|\s)(current-password|new-password|one-time-code|cc-[a-z-]+|webauthn|username)(\s|$)/i;
  const TEXT_INPUT_TYPES = new Set(['', 'text', 'search', 'email', 'url', 'tel']);

  const send = (m) => {
    try {
      chrome.runtime.sendMessage(m).catch(() => {});
    } catch {
      // extension reloaded or port gone: nothing to do in the page
    }
  };

  /** True for a field whose text may be read; never passwords, credentials or payment fields. */
  function readable(el) {
    if (el?.nodeType !== 1) return false;
    const ac = el.getAttribute('autocomplete') || '';
    if (SECRET_AUTOCOMPLETE.test(ac)) return false;
    if (el instanceof HTMLInputElement) {
      const type = (el.getAttribute('type') || '').toLowerCase();
      // a field that is or ever was a password field stays private
      if (type === 'password' || el.type === 'password' || el.dataset.custodianSecret) return false;
      return TEXT_INPUT_TYPES.has(type);
    }
    if (el instanceof HTMLTextAreaElement) return true;
    return el.isContentEditable === true;
  }

  function fieldText(el) {
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement)
      return el.value.slice(0, MAX_TYPED);
    // biome-ignore lint/performance/useDomNodeTextContent: what the user sees, not hidden markup
    const v = el.innerText;
    return String(v || '').slice(0, MAX_TYPED);
  }

  // --- typed text ---
  const typedTimers = new WeakMap();
  const lastSent = new WeakMap();
  function sendTyped(el) {
    clearTimeout(typedTimers.get(el));
    typedTimers.delete(el);
    if (!readable(el)) return;
    const text = fieldText(el).trim();
    if (text === '' || lastSent.get(el) === text) return;
    lastSent.set(el, text);
    send({ kind: 'typed', url: location.href, title: document.title, text });
  }
  function typedTarget(e) {
    const el = e.composedPath ? e.composedPath()[0] : e.target;
    if (el instanceof HTMLInputElement && el.type === 'password') el.dataset.custodianSecret = '1';
    return readable(el) ? el : null;
  }
  document.addEventListener(
    'input',
    (e) => {
      const el = typedTarget(e);
      if (!el) return;
      clearTimeout(typedTimers.get(el));
      typedTimers.set(
        el,
        setTimeout(() => sendTyped(el), TYPED_DEBOUNCE_MS),
      );
    },
    true,
  );
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.key !== 'Enter') return;
      const el = typedTarget(e);
      if (el) sendTyped(el);
    },
    true,
  );
  document.addEventListener(
    'blur',
    (e) => {
      const el = typedTarget(e);
      if (el && typedTimers.has(el)) sendTyped(el);
    },
    true,
  );

  // --- page text ---
  let lastPage = '';
  let pageTimer = null;
  function visibleText() {
    const body = document.body;
    if (!body) return '';
    // innerText is the rendered text: hidden elements, scripts and input values are not in it.
    // biome-ignore lint/performance/useDomNodeTextContent: the visible text is what is read
    return String(body.innerText || '')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, MAX_PAGE);
  }
  function samplePage() {
    pageTimer = null;
    const text = visibleText();
    if (text === '' || text === lastPage) return;
    // significant change only: at least 64 characters different in length, or new content
    if (
      lastPage !== '' &&
      Math.abs(text.length - lastPage.length) < 64 &&
      text.slice(0, 256) === lastPage.slice(0, 256)
    )
      return;
    lastPage = text;
    send({ kind: 'page', url: location.href, title: document.title, text });
  }
  function schedulePage() {
    if (pageTimer === null) pageTimer = setTimeout(samplePage, PAGE_DEBOUNCE_MS);
  }

  // --- URL (top frame only; single-page apps change it without a load) ---
  let lastUrl = '';
  function sendUrl() {
    if (window.top !== window || location.href === lastUrl) return;
    lastUrl = location.href;
    send({ kind: 'url', url: location.href, title: document.title });
  }

  sendUrl();
  samplePage();
  new MutationObserver(() => {
    sendUrl();
    schedulePage();
  }).observe(document.documentElement, { childList: true, subtree: true, characterData: true });
})();
