import { HeadroomError, isHeadroomError } from '../errors.js';
import { pidAlive } from '../kernel/index.js';
import {
  type ListeningSocket,
  listeningSocketsOf,
  namespaceListeningSockets,
} from '../kernel/inspector-port.js';
import type { AttachTarget } from './attach-target.js';
import { listInspectorTargets } from './inspector-client.js';

/** A Node process's inspector, listening. */
export interface OpenInspector {
  /** The WebSocket URL of the process's session endpoint. */
  url: string;
  socket: ListeningSocket;
  /** headroom opened it (SIGUSR1), so headroom closes it again. */
  openedByHeadroom: boolean;
}

const POLL_MS = 25;
/** A listening socket that does not answer as an inspector within this is something else. */
const PROBE_MS = 1000;

/**
 * Finds the process's inspector if it is open already; otherwise sends SIGUSR1, which makes Node open
 * it (on 127.0.0.1:9229 unless --inspect-port says otherwise), and waits for the new listening socket.
 */
export async function openInspector(target: AttachTarget, timeoutMs = 5000): Promise<OpenInspector> {
  const { pid } = target;
  const before = sockets(pid);
  const open = await findInspector(before, target.inspectorPort);
  if (open) return { ...open, openedByHeadroom: false };
  if (!target.opensInspectorOnSignal) {
    // SIGUSR1 that the process does not handle would terminate it.
    throw new HeadroomError(
      'E_ATTACH',
      `pid ${pid} does not handle SIGUSR1, so its inspector cannot be opened: its Node was built ` +
        'without the inspector or started with --disable-sigusr1',
      { pid },
    );
  }
  const known = new Set(before.map((socket) => socket.inode));
  process.kill(pid, 'SIGUSR1');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    if (!pidAlive(pid))
      throw new HeadroomError('E_NO_SUCH_PROCESS', `pid ${pid} exited while its inspector was opening`, {
        pid,
      });
    const fresh = sockets(pid).filter((socket) => !known.has(socket.inode));
    if (fresh.length === 0) continue;
    const found = await findInspector(fresh, target.inspectorPort);
    if (found) return { ...found, openedByHeadroom: true };
    for (const socket of fresh) known.add(socket.inode);
  }
  throw new HeadroomError(
    'E_INSPECTOR',
    `pid ${pid} did not open its inspector within ${timeoutMs / 1000} s after SIGUSR1${whyNotOpen(target)}`,
    { pid },
  );
}

/** Waits until the inspector's socket is gone from the process; false if it still listens at the end. */
export async function waitUntilClosed(
  pid: number,
  socket: ListeningSocket,
  timeoutMs = 3000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pidAlive(pid)) return true;
    let listening: ListeningSocket[];
    try {
      listening = listeningSocketsOf(pid);
    } catch {
      return !pidAlive(pid);
    }
    if (!listening.some((s) => s.inode === socket.inode)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/** Probes the sockets (the expected port first) for one that lists an inspector target. */
async function findInspector(
  candidates: ListeningSocket[],
  port: number,
): Promise<Omit<OpenInspector, 'openedByHeadroom'> | undefined> {
  const ordered = [...candidates].sort((a, b) => Number(b.port === port) - Number(a.port === port));
  for (const socket of ordered) {
    const targets = await listInspectorTargets(connectAddress(socket), socket.port, PROBE_MS);
    const first = targets?.[0];
    if (first) return { url: first.webSocketDebuggerUrl, socket };
  }
  return undefined;
}

/** Where to connect to a socket bound to an address: the loopback for "every address". */
function connectAddress(socket: ListeningSocket): string {
  if (socket.address === '0.0.0.0') return '127.0.0.1';
  if (socket.address === '::') return '::1';
  return socket.address;
}

function sockets(pid: number): ListeningSocket[] {
  try {
    return listeningSocketsOf(pid);
  } catch (error) {
    if (!isHeadroomError(error, 'E_KERNEL_FILE')) throw error;
    if (!pidAlive(pid)) throw new HeadroomError('E_NO_SUCH_PROCESS', `pid ${pid} has exited`, { pid });
    const details = { ...error.details, pid };
    if (error.details.errno === 'EACCES' || error.details.errno === 'EPERM') {
      throw new HeadroomError(
        'E_NO_PERMISSION',
        `no permission to list the sockets of pid ${pid}: run headroom as its user or root`,
        details,
      );
    }
    throw new HeadroomError('E_ATTACH', `cannot list the sockets of pid ${pid}: ${error.message}`, details);
  }
}

/** The likely reason, when it can be seen: another process holds the port Node wanted. */
function whyNotOpen(target: AttachTarget): string {
  let taken: ListeningSocket | undefined;
  try {
    taken = namespaceListeningSockets(target.pid).find((socket) => socket.port === target.inspectorPort);
  } catch {
    taken = undefined;
  }
  if (taken) {
    return `: port ${target.inspectorPort} is in use by another process (Node's inspector port; set another with --inspect-port)`;
  }
  return ' (its stderr may say why)';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
