import { formatBytes } from '../format.js';
import { sanitizeForTerminal } from '../terminal-text.js';
import type { ProfileView, TreeNode } from './profile-at.js';
import { formatShare, plural } from './profile-table.js';

export interface TreeTextOptions {
  /** Children holding less than this fraction (0..1) of all profiled bytes are folded into one line. */
  minShare?: number;
  /** Deeper frames are folded too: recursion can make stacks thousands of frames deep. */
  maxDepth?: number;
}

export const DEFAULT_MIN_SHARE = 0.01;
const DEFAULT_MAX_DEPTH = 100;

interface Pending {
  node: TreeNode;
  /** The tree art drawn before this node's own connector. */
  prefix: string;
  last: boolean;
  depth: number;
}

/**
 * The merged call tree as indented text, largest first: the root, one branch per process, then frames.
 * Each line: total bytes (the node and all it called), share of the whole, the frame, and its own bytes
 * when it also holds memory itself. Children under the share are folded into "... 3 more, 1.2 MiB".
 */
export function renderProfileTree(view: ProfileView, when: string, options: TreeTextOptions = {}): string {
  const minShare = options.minShare ?? DEFAULT_MIN_SHARE;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const whole = view.tree.total;
  const threshold = whole * minShare;
  const folding = minShare > 0 ? `; frames under ${formatShare(minShare)} folded` : '';
  const lines = [
    `allocation tree ${when}: ${formatBytes(whole)} in ${plural(view.parts.length, 'process')}${folding}`,
  ];
  const line = (bytes: number, text: string) => {
    const share = whole > 0 ? formatShare(bytes / whole) : '-';
    lines.push(`${formatBytes(bytes).padStart(10)} ${share.padStart(6)}  ${text}`);
  };
  // Iterative: a recursive walk would overflow on deep stacks.
  const stack: Pending[] = [{ node: view.tree, prefix: '', last: true, depth: 0 }];
  while (stack.length > 0) {
    const { node, prefix, last, depth } = stack.pop() as Pending;
    const connector = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    const own = node.self > 0 && node.children.length > 0 ? `  [self ${formatBytes(node.self)}]` : '';
    line(node.total, `${prefix}${connector}${sanitizeForTerminal(node.label)}${own}`);
    const childPrefix = depth === 0 ? '' : `${prefix}${last ? '   ' : '│  '}`;
    if (node.children.length === 0) continue;
    // depth 0 is the root, 1 a process, 2 its outermost frame.
    if (depth - 1 >= maxDepth) {
      const below = node.total - node.self;
      line(below, `${childPrefix}└─ ... deeper calls not shown (--max-depth ${maxDepth})`);
      continue;
    }
    const keep = (child: TreeNode) => child.total > 0 && child.total >= threshold;
    const shown = node.children.filter(keep);
    const folded = node.children.length - shown.length;
    const foldedBytes = node.children.reduce((sum, child) => (keep(child) ? sum : sum + child.total), 0);
    // Pushed in reverse so the largest child is drawn first; the fold line comes last.
    if (folded > 0) {
      stack.push({
        node: foldNode(folded, foldedBytes),
        prefix: childPrefix,
        last: true,
        depth: depth + 1,
      });
    }
    for (let i = shown.length - 1; i >= 0; i--) {
      stack.push({
        node: shown[i] as TreeNode,
        prefix: childPrefix,
        last: i === shown.length - 1 && folded === 0,
        depth: depth + 1,
      });
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A stand-in leaf for the children left out. */
function foldNode(count: number, bytes: number): TreeNode {
  return { frame: null, label: `... ${count} more`, self: bytes, total: bytes, count: 0, children: [] };
}
