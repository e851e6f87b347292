// Linux/X11 on-screen text: the focused window (_NET_ACTIVE_WINDOW and its geometry, read over the
// agent's own X connection: x11-wire.ts) cropped out of a root
// screenshot by ImageMagick `import` as a grayscale PGM (no PNG to encode or decode: the agent
// hashes its rows, screen-scan.ts), run as the session's user; then Debian's `tesseract` 5 with
// OMP_THREAD_LIMIT=1 under `nice -n 19` (multi-threaded it burns 3–4× the CPU for nothing on two
// cores: platform-notes, Nov 2026), also as the session's user (it parses pixels any program on
// the screen can draw). Both are short-lived children with timeouts.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { CapabilityStatus } from '../core/contracts.ts';
import { hasCommand, type RunAs, run, runBytes } from './exec.ts';
import { encodePgm, type GrayImage, parsePgm } from './gray-image.ts';
import type { FocusedWindow, OcrResult, ScreenTextSource } from './ocr.ts';
import { helperSession, sessionEnv } from './session.ts';
import { x11EnvironmentProblem } from './window.xprop.ts';
import { clipToScreen } from './window-crop.ts';
import type { XauthEntry } from './x11-auth.ts';
import { sessionCookie } from './x11-lock-evidence.ts';
import { ATOM_WINDOW, XConnection } from './x11-wire.ts';

const OCR_TIMEOUT_MS = 30_000;
/** Languages passed to tesseract: the keyword library's first language (see the agent README). */
export const OCR_LANGUAGES = 'eng';

export class X11ScreenTextSource implements ScreenTextSource {
  private readonly envOf: () => NodeJS.ProcessEnv;
  private cached: { key: string; cookie: XauthEntry | undefined } | undefined;

  constructor(env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv) = sessionEnv) {
    this.envOf = typeof env === 'function' ? env : () => env;
  }

  private session(): ReturnType<typeof helperSession> {
    return helperSession(this.envOf());
  }

  async probe(): Promise<CapabilityStatus> {
    const unavailable = (reason: string): CapabilityStatus => ({
      name: 'screen_text',
      available: false,
      reason,
    });
    const { env } = this.session();
    const problem = x11EnvironmentProblem(env);
    if (problem) return unavailable(problem);
    if (!(await hasCommand('tesseract')))
      return unavailable('tesseract is not installed (Debian packages tesseract-ocr, tesseract-ocr-eng)');
    if (!(await hasCommand('import')))
      return unavailable('ImageMagick is not installed (Debian package imagemagick)');
    try {
      const { stdout } = await run('tesseract', ['--list-langs'], { timeoutMs: 5_000 });
      if (!/^eng$/m.test(stdout))
        return unavailable('tesseract has no English data (Debian package tesseract-ocr-eng)');
    } catch (err) {
      return unavailable(`tesseract does not run: ${(err as Error).message.slice(0, 200)}`);
    }
    return { name: 'screen_text', available: true, reason: '' };
  }

  /**
   * Over one short X connection in this process (x11-wire.ts, ~1 ms) with the session's cookie, as
   * the lock check does: a scan runs on every focus change, and `xprop` plus two `xwininfo`, each
   * through setpriv, cost far more CPU than the answer (bench "Text sources footprint").
   */
  async focusedWindow(): Promise<FocusedWindow | undefined> {
    const { env, asUser } = this.session();
    const x = await XConnection.open(env['DISPLAY'] ?? '', await this.cookie(env, asUser.runAs)).catch(
      (err: unknown) => {
        this.cached = undefined; // a new X server or cookie: read it again next time
        throw err;
      },
    );
    try {
      const root = x.setup.root;
      const active = await x.property32(root, await x.internAtom('_NET_ACTIVE_WINDOW'), ATOM_WINDOW, 1);
      const id = active?.[0];
      if (!id) return undefined;
      // The window may be gone between the two reads (BadWindow): none focused.
      const g = await x.geometry(id).catch(() => undefined);
      const at = g && (await x.translate(id, root).catch(() => undefined));
      if (!g || !at) return undefined;
      const crop = clipToScreen(
        { x: at.x, y: at.y, width: g.width, height: g.height },
        { width: x.setup.rootWidth, height: x.setup.rootHeight },
      );
      return crop ? { windowId: `0x${id.toString(16)}`, crop } : undefined;
    } finally {
      x.close();
    }
  }

  /** The session's X cookie, read once per display and cookie file (see sessionCookie). */
  private async cookie(env: NodeJS.ProcessEnv, runAs: RunAs | undefined): Promise<XauthEntry | undefined> {
    const key = JSON.stringify([env['DISPLAY'], env['XAUTHORITY'], runAs?.uid]);
    if (this.cached?.key !== key) this.cached = { key, cookie: await sessionCookie(env, runAs) };
    return this.cached.cookie;
  }

  async windowImage(w: FocusedWindow): Promise<GrayImage> {
    const { env, asUser } = this.session();
    const { x, y, width, height } = w.crop;
    const { stdout } = await runBytes(
      'import',
      [
        '-silent',
        '-window',
        'root',
        '-crop',
        `${width}x${height}+${x}+${y}`,
        '+repage',
        '-colorspace',
        'gray',
        '-depth',
        '8',
        'pgm:-',
      ],
      { env, timeoutMs: 15_000, maxBuffer: 64 * 1024 * 1024, ...asUser },
    );
    const image = parsePgm(stdout);
    if (!image) throw new CustodianError(ErrorCode.COMMAND_FAILED, 'window image: import gave no PGM');
    return image;
  }

  async read(image: GrayImage): Promise<OcrResult> {
    const pgm = encodePgm(image);
    const { asUser } = this.session();
    const started = performance.now();
    const { stdout } = await run('nice', ['-n', '19', 'tesseract', 'stdin', 'stdout', '-l', OCR_LANGUAGES], {
      // One thread; nothing of root's environment; no display needed.
      env: { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8', OMP_THREAD_LIMIT: '1' },
      input: pgm,
      timeoutMs: OCR_TIMEOUT_MS,
      ...asUser,
    });
    return { text: stdout, ms: performance.now() - started };
  }
}
