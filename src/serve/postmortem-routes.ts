import fs from 'node:fs';
import type http from 'node:http';
import { messageOf } from '../errors.js';
import type { PostmortemFile, PostmortemStore } from './postmortem-store.js';

export interface PostmortemRoutesOptions {
  /** Renders a post-mortem's HTML report (the CLI passes summary and report, which sit above serve). */
  renderReport: (file: string) => string;
  /** Captures sent at once; more get 503 and a Retry-After (default 8). */
  maxStreams?: number;
  /** A capture larger than this is not rendered here (default 32 MiB). */
  maxReportBytes?: number;
}

/** One post-mortem in the listing. */
export interface PostmortemEntry extends PostmortemFile {
  writtenAt: string;
  /** Whose: the cgroup's name as top shows it, or the pod's. */
  name: string | null;
  cgroup: string | null;
  pod: { namespace: string; pod: string; container: string | null } | null;
  /** The kill's time, ms since the epoch; null when the header did not say. */
  killedMs: number | null;
}

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, url: string) => boolean;

const HEADER_BYTES = 64 * 1024;
const REPORTS_KEPT = 4;

/**
 * /postmortems (a JSON list, newest first), /postmortems/ID (the capture) and /postmortems/ID/report (its
 * HTML report), on the exporter's listener. Ids go through the store, which opens nothing outside its
 * directory. Captures stream with backpressure and a cap on how many at once, and a report is rendered
 * once and kept, so that clients slow or many cannot hold the event loop the scrape needs.
 */
export function postmortemRoutes(store: PostmortemStore, options: PostmortemRoutesOptions): Handler {
  const maxStreams = options.maxStreams ?? 8;
  const maxReportBytes = options.maxReportBytes ?? 32 * 1024 * 1024;
  const headers = new Map<
    string,
    { stamp: number; entry: Omit<PostmortemEntry, keyof PostmortemFile | 'writtenAt'> }
  >();
  const reports = new Map<string, { stamp: number; html: string }>();
  let streams = 0;

  const list = (): PostmortemEntry[] => {
    const files = store.list();
    const live = new Set(files.map((file) => file.id));
    for (const id of headers.keys()) if (!live.has(id)) headers.delete(id);
    return files.map((file) => {
      let known = headers.get(file.id);
      if (!known || known.stamp !== file.writtenMs) {
        known = { stamp: file.writtenMs, entry: describe(store, file.id) };
        headers.set(file.id, known);
      }
      return { ...file, writtenAt: new Date(file.writtenMs).toISOString(), ...known.entry };
    });
  };

  return (_request, response, url) => {
    const path = url.split('?')[0] ?? '';
    if (path === '/postmortems' || path === '/postmortems/') {
      json(response, 200, list());
      return true;
    }
    const match = /^\/postmortems\/([^/]+)(\/report)?$/.exec(path);
    if (!match) return false;
    let id: string;
    try {
      id = decodeURIComponent(match[1] ?? '');
    } catch {
      json(response, 400, { error: 'not a post-mortem id' });
      return true;
    }
    const opened = store.open(id);
    if (!opened) {
      json(response, 404, { error: 'no such post-mortem' });
      return true;
    }
    if (match[2]) {
      fs.closeSync(opened.fd);
      report(response, id, opened);
      return true;
    }
    if (streams >= maxStreams) {
      fs.closeSync(opened.fd);
      response.writeHead(503, { 'Retry-After': '5', 'Content-Type': 'text/plain' }).end('busy, try again\n');
      return true;
    }
    streams++;
    response.writeHead(200, {
      'Content-Type': 'application/x-ndjson',
      'Content-Length': String(opened.bytes),
      'Content-Disposition': `attachment; filename="${id}"`,
    });
    // Only the bytes there were at open: the file is whole (it was renamed into place), and a response
    // never grows past the size it announced.
    const stream = fs.createReadStream('', { fd: opened.fd, start: 0, end: Math.max(0, opened.bytes - 1) });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      streams--;
      stream.destroy();
    };
    stream.on('error', () => {
      release();
      response.destroy();
    });
    response.on('close', release);
    if (opened.bytes === 0) {
      release();
      response.end();
    } else {
      stream.pipe(response);
    }
    return true;
  };

  function report(response: http.ServerResponse, id: string, opened: { bytes: number; file: string }): void {
    if (opened.bytes > maxReportBytes) {
      json(response, 413, {
        error: `the capture is ${opened.bytes} bytes, too large to render here: fetch /postmortems/${id} and run headroom report on it`,
      });
      return;
    }
    const stamp = fs.statSync(opened.file).mtimeMs;
    let kept = reports.get(id);
    if (!kept || kept.stamp !== stamp) {
      try {
        kept = { stamp, html: options.renderReport(opened.file) };
      } catch (error) {
        json(response, 500, {
          error: `cannot render the report: ${messageOf(error)}`,
        });
        return;
      }
      reports.set(id, kept);
      if (reports.size > REPORTS_KEPT) reports.delete(reports.keys().next().value as string);
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(kept.html);
  }
}

/** What a post-mortem's header says about it; nulls when it cannot be read. */
function describe(
  store: PostmortemStore,
  id: string,
): Omit<PostmortemEntry, keyof PostmortemFile | 'writtenAt'> {
  const none = { name: null, cgroup: null, pod: null, killedMs: null };
  const opened = store.open(id);
  if (!opened) return none;
  try {
    const buffer = Buffer.alloc(Math.min(HEADER_BYTES, opened.bytes));
    const read = fs.readSync(opened.fd, buffer, 0, buffer.length, 0);
    const text = buffer.toString('utf8', 0, read);
    const newline = text.indexOf('\n');
    const header = JSON.parse(newline === -1 ? text : text.slice(0, newline)) as {
      startMs?: number;
      cgroup?: { path?: string };
      postmortem?: { name?: string; killedMs?: number; pod?: PostmortemEntry['pod'] };
    };
    const postmortem = header.postmortem;
    return {
      name: typeof postmortem?.name === 'string' ? postmortem.name : null,
      cgroup: typeof header.cgroup?.path === 'string' ? header.cgroup.path : null,
      pod: postmortem?.pod ?? null,
      killedMs:
        typeof header.startMs === 'number' && typeof postmortem?.killedMs === 'number'
          ? header.startMs + postmortem.killedMs
          : null,
    };
  } catch {
    return none;
  } finally {
    fs.closeSync(opened.fd);
  }
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
