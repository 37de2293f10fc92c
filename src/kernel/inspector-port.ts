import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errnoCode, kernelFileError } from './errors.js';
import { type HostPaths, procPath, realHost } from './host-paths.js';
import { describeErrno, readOptionalKernelFile } from './read-file.js';

/** A TCP socket in LISTEN state. */
export interface ListeningSocket {
  family: 4 | 6;
  /** The address it is bound to: "127.0.0.1", "0.0.0.0" (every address), "::1", "::". */
  address: string;
  port: number;
  inode: number;
}

/** The kernel's "st" column for a listening socket. */
const TCP_LISTEN = '0A';

/**
 * Parses /proc/PID/net/tcp or tcp6 (a table of the network namespace's sockets, one per line after the
 * header) and keeps the listening ones.
 */
export function parseListeningSockets(text: string, family: 4 | 6, file = 'tcp'): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const fields = (lines[i] as string).trim().split(/\s+/);
    if (fields.length < 10) continue;
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    const [local, , state] = fields.slice(1, 4) as [string, string, string];
    if (state !== TCP_LISTEN) continue;
    const colon = local.lastIndexOf(':');
    const port = Number.parseInt(local.slice(colon + 1), 16);
    const inode = Number(fields[9]);
    if (colon < 0 || !Number.isInteger(port) || !Number.isInteger(inode)) {
      throw kernelFileError(file, `malformed line "${(lines[i] as string).trim().slice(0, 80)}"`);
    }
    sockets.push({ family, address: decodeAddress(local.slice(0, colon), family), port, inode });
  }
  return sockets;
}

/**
 * The kernel prints an address as 32-bit words in the machine's byte order (%08X of each word of the
 * network-order address), so on a little-endian machine every word's bytes come reversed.
 */
function decodeAddress(hex: string, family: 4 | 6): string {
  const bytes = Buffer.from(hex, 'hex');
  if (os.endianness() === 'LE') {
    for (let word = 0; word + 4 <= bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  }
  if (family === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 2 <= bytes.length; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return compressIpv6(groups);
}

/** "0:0:0:0:0:0:0:1" -> "::1": the longest run of zero groups becomes "::". */
function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestLength < 2) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** Every listening TCP socket in the network namespace process PID is in, IPv4 and IPv6. */
export function namespaceListeningSockets(pid: number, host: HostPaths = realHost): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const [name, family] of [
    ['net/tcp', 4],
    ['net/tcp6', 6],
  ] as const) {
    const file = procPath(host, pid, name);
    // tcp6 is absent when the kernel has no IPv6.
    const text = readOptionalKernelFile(file);
    if (text !== undefined) sockets.push(...parseListeningSockets(text, family, file));
  }
  return sockets;
}

/**
 * The inodes of the sockets process PID holds open: /proc/PID/fd links read "socket:[INODE]". Reading
 * another user's descriptors takes root (or ptrace rights): that is a permission error, not an empty set.
 */
export function socketInodes(pid: number, host: HostPaths = realHost): Set<number> {
  const dir = procPath(host, pid, 'fd');
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (error) {
    throw kernelFileError(dir, describeErrno(error), errnoCode(error));
  }
  const inodes = new Set<number>();
  for (const entry of entries) {
    let target: string;
    try {
      target = fs.readlinkSync(path.join(dir, entry));
    } catch {
      continue; // closed since the listing
    }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(Number(match[1]));
  }
  return inodes;
}

/** The TCP sockets process PID itself listens on (not others of its network namespace). */
export function listeningSocketsOf(pid: number, host: HostPaths = realHost): ListeningSocket[] {
  const inodes = socketInodes(pid, host);
  if (inodes.size === 0) return [];
  return namespaceListeningSockets(pid, host).filter((socket) => inodes.has(socket.inode));
}
