/**
 * Directory trees. A tree blob is the canonical JSON of one folder: entries sorted by name
 * (UTF-16 code unit order), every node's keys written in a fixed order, absent fields left out.
 * An unchanged folder therefore serialises to the same bytes and the same id.
 */

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  name: string;
  type: NodeType;
  /** Permission bits (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Logical size in bytes (files). */
  size: number;
  /** Milliseconds since the epoch (fractional). */
  mtime: number;
  /** Change detection only. */
  ctime: number;
  ino: number;
  /** Data blob ids (files). */
  content?: string[];
  /** Tree blob id (folders). */
  subtree?: string;
  /** Link target (symlinks). */
  target?: string;
  /** Marks added by source handlers. */
  annotations?: Record<string, unknown>;
}

export interface Tree {
  nodes: TreeNode[];
}

function canonicalNode(n: TreeNode): TreeNode {
  const o: TreeNode = {
    name: n.name,
    type: n.type,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    size: n.size,
    mtime: n.mtime,
    ctime: n.ctime,
    ino: n.ino,
  };
  if (n.content) o.content = n.content;
  if (n.subtree) o.subtree = n.subtree;
  if (n.target !== undefined) o.target = n.target;
  if (n.annotations && Object.keys(n.annotations).length) o.annotations = sortKeys(n.annotations) as Record<string, unknown>;
  return o;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function serializeTree(nodes: TreeNode[]): Buffer {
  const sorted = nodes.slice().sort((a, b) => compareNames(a.name, b.name));
  return Buffer.from(JSON.stringify({ v: 1, nodes: sorted.map(canonicalNode) }), 'utf8');
}

export function parseTree(buf: Buffer): Tree {
  const o = JSON.parse(buf.toString('utf8')) as { v: number; nodes: TreeNode[] };
  if (o.v !== 1 || !Array.isArray(o.nodes)) throw new Error('unsupported tree version');
  return { nodes: o.nodes };
}
