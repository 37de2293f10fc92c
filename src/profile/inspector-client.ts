/**
 * A small client of the Chrome DevTools Protocol as Node's inspector speaks it: the HTTP listing of
 * targets (/json/list) and one WebSocket session with request/response calls.
 */
import http from 'node:http';
import WebSocket from 'ws';
import { HeadroomError } from '../errors.js';

/** One debuggable target as /json/list describes it. */
export interface InspectorTarget {
  id: string;
  title: string;
  url: string;
  webSocketDebuggerUrl: string;
}

/** A failed call, a refused connection or a session that closed under a call (E_INSPECTOR). */
function inspectorError(message: string): HeadroomError {
  return new HeadroomError('E_INSPECTOR', message);
}

/** The largest message accepted: a sampling profile of a big application is tens of MiB of JSON. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

/**
 * The targets an inspector at host:port lists, or undefined when what listens there does not answer as
 * an inspector does (another HTTP server, not HTTP at all, or no answer in time).
 */
export function listInspectorTargets(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<InspectorTarget[] | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host, port, path: '/json/list', timeout: timeoutMs }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        resolve(undefined);
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        // An inspector's listing is a few hundred bytes per target: anything far larger is not one.
        if (body.length > 1024 * 1024) request.destroy();
      });
      response.on('end', () => resolve(parseTargets(body)));
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

function parseTargets(body: string): InspectorTarget[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const targets: InspectorTarget[] = [];
  for (const item of parsed as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const { id, title, url, webSocketDebuggerUrl } = item as Record<string, unknown>;
    if (typeof webSocketDebuggerUrl !== 'string' || !webSocketDebuggerUrl.startsWith('ws://')) continue;
    targets.push({
      id: typeof id === 'string' ? id : '',
      title: typeof title === 'string' ? title : '',
      url: typeof url === 'string' ? url : '',
      webSocketDebuggerUrl,
    });
  }
  return targets.length > 0 ? targets : undefined;
}

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** One inspector session over a WebSocket. Calls are answered in any order, matched by id. */
export class InspectorClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closeReason: string | undefined;
  private readonly listeners = new Map<string, Array<(params: unknown) => void>>();
  /** Resolves once the session has closed, from either side. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closeReason ??= 'the inspector closed the session';
        this.failAll(this.closeReason);
        resolve();
      });
    });
    socket.on('message', (data) => this.receive(data));
  }

  static connect(url: string, timeoutMs: number): Promise<InspectorClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, {
        handshakeTimeout: timeoutMs,
        maxPayload: MAX_MESSAGE_BYTES,
        perMessageDeflate: false,
      });
      const fail = (error: Error): void => {
        socket.terminate();
        reject(inspectorError(`cannot connect to the inspector at ${url}: ${error.message}`));
      };
      socket.once('error', fail);
      socket.once('unexpected-response', (_request, response) =>
        fail(new Error(`HTTP ${response.statusCode ?? '?'}`)),
      );
      socket.once('open', () => {
        socket.off('error', fail);
        // Errors after the handshake end in 'close', which fails the calls in flight.
        socket.on('error', () => {});
        resolve(new InspectorClient(socket));
      });
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends a command and waits for its result; rejects with the inspector's error or on timeout. */
  call<T = unknown>(method: string, params: object = {}, timeoutMs = 30_000): Promise<T> {
    if (!this.isOpen) return Promise.reject(inspectorError(this.closeReason ?? 'the session is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(inspectorError(`${method} got no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (result: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Sends a command whose answer may never come (one that ends the session itself): resolves once it
   * is on the wire.
   */
  sendWithoutAnswer(method: string, params: object = {}): Promise<void> {
    if (!this.isOpen) return Promise.reject(inspectorError(this.closeReason ?? 'the session is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.socket.send(JSON.stringify({ id, method, params }), (error) =>
        error ? reject(inspectorError(error.message)) : resolve(),
      );
    });
  }

  /** Calls `listener` with the params of every event `method` the inspector sends. */
  onEvent(method: string, listener: (params: unknown) => void): void {
    const list = this.listeners.get(method) ?? [];
    list.push(listener);
    this.listeners.set(method, list);
  }

  /** Closes the session (the inspector stays as it is) and waits for the close, at most timeoutMs. */
  async close(timeoutMs = 2000): Promise<void> {
    this.closeReason ??= 'headroom closed the session';
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    if ((await Promise.race([this.closed, late])) === 'late') this.socket.terminate();
    clearTimeout(timer);
  }

  private receive(data: WebSocket.RawData): void {
    let message: {
      id?: unknown;
      method?: unknown;
      params?: unknown;
      result?: unknown;
      error?: { message?: unknown };
    };
    try {
      message = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (typeof message.id !== 'number') {
      if (typeof message.method !== 'string') return;
      for (const listener of this.listeners.get(message.method) ?? []) listener(message.params);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) {
      const text = typeof message.error.message === 'string' ? message.error.message : 'failed';
      pending.reject(inspectorError(`${pending.method}: ${text}`));
    } else {
      pending.resolve(message.result);
    }
  }

  private failAll(reason: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(inspectorError(`${pending.method}: ${reason}`));
      this.pending.delete(id);
    }
  }
}
