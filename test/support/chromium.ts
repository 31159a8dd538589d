// Headless Chromium (Debian's chromium package) driven over the DevTools protocol with Node's own
// WebSocket: open a page or file, evaluate JavaScript in it, click, take a screenshot. Tests use it
// to check what a person would see (an SVG flame graph, a dashboard).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export function requireChromium(): string {
  if (!CHROMIUM) throw new Error('chromium is not installed: apt-get install chromium (listed in scripts/apt-packages.txt)');
  return CHROMIUM;
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export class Browser {
  readonly #child: ChildProcess;
  readonly #ws: WebSocket;
  readonly #profile: string;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners: ((method: string, params: Record<string, unknown>, sessionId?: string) => void)[] = [];
  #nextId = 1;

  private constructor(child: ChildProcess, ws: WebSocket, profile: string) {
    this.#child = child;
    this.#ws = ws;
    this.#profile = profile;
    ws.addEventListener('message', (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result ?? {});
      } else if (msg.method) {
        for (const l of this.#listeners) l(msg.method, msg.params ?? {}, msg.sessionId);
      }
    });
  }

  /** Starts headless Chromium with a throw-away profile. */
  static async launch(): Promise<Browser> {
    const exe = requireChromium();
    const profile = mkdtempSync(join(tmpdir(), 'bpfcol-chromium-'));
    const child = spawn(
      exe,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        '--remote-debugging-port=0',
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`chromium did not start: ${err}`)), 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`chromium exited (${code}): ${err}`));
      });
    });
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('cannot connect to chromium')), { once: true });
    });
    return new Browser(child, ws, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Opens a URL (file:// included) in a new tab of the given size and waits for its load event. */
  async open(url: string, viewport: { width: number; height: number }): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(this, sessionId);
    await this.send('Page.enable', {}, sessionId);
    await this.send('Emulation.setDeviceMetricsOverride', { width: viewport.width, height: viewport.height, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = new Promise<void>((resolve) => {
      const l = (method: string, _p: Record<string, unknown>, sid?: string) => {
        if (method === 'Page.loadEventFired' && sid === sessionId) {
          this.#listeners.splice(this.#listeners.indexOf(l), 1);
          resolve();
        }
      };
      this.#listeners.push(l);
    });
    await this.send('Page.navigate', { url }, sessionId);
    await loaded;
    return page;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]);
    } catch {
      // already gone
    }
    this.#ws.close();
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.#profile, { recursive: true, force: true });
  }
}

export class Page {
  readonly #browser: Browser;
  readonly #session: string;

  constructor(browser: Browser, session: string) {
    this.#browser = browser;
    this.#session = session;
  }

  /** Evaluates an expression in the page; its JSON value. Throws what the page threw. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.#browser.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.#session)) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`in page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** A left click at page coordinates, as a person's mouse does it (pressed, released). */
  async click(x: number, y: number): Promise<void> {
    for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
      await this.#browser.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 }, this.#session);
    }
  }

  async hover(x: number, y: number): Promise<void> {
    await this.#browser.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y }, this.#session);
  }

  /** PNG of the viewport. */
  async screenshot(): Promise<Buffer> {
    const { data } = (await this.#browser.send('Page.captureScreenshot', { format: 'png' }, this.#session)) as { data: string };
    return Buffer.from(data, 'base64');
  }

  /** The serialized DOM (what --dump-dom prints). */
  dom(): Promise<string> {
    return this.evaluate<string>('new XMLSerializer().serializeToString(document)');
  }
}
