/**
 * Directory trees. A tree blob is the canonical JSON of one folder: entries sorted by name
 * (UTF-16 code unit order), every node's keys written in a fixed order, absent fields left out.
 * An unchanged folder therefore serialises to the same bytes and the same id.
 */

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  /**
   * The entry's name. For a name that is not valid UTF-8 this is a display form only (invalid
   * bytes shown as U+FFFD) and `nameBytes` holds the real name.
   */
  name: string;
  /** Base64 of the raw name bytes, present only when the name is not valid UTF-8. */
  nameBytes?: string;
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
  /** Base64 of the raw link target, present only when the target is not valid UTF-8. */
  targetBytes?: string;
  /**
   * Hard-link group (files whose link count was > 1): "<dev>:<ino>". Files of one snapshot with
   * the same value were one inode and are restored as hard links to each other.
   */
  hardlink?: string;
  /** Marks added by source handlers. */
  annotations?: Record<string, unknown>;
}

export interface Tree {
  nodes: TreeNode[];
}

function canonicalNode(n: TreeNode): TreeNode {
  const o: TreeNode = { name: n.name } as TreeNode;
  if (n.nameBytes !== undefined) o.nameBytes = n.nameBytes;
  Object.assign(o, {
    type: n.type,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    size: n.size,
    mtime: n.mtime,
    ctime: n.ctime,
    ino: n.ino,
  });
  if (n.hardlink !== undefined) o.hardlink = n.hardlink;
  if (n.content) o.content = n.content;
  if (n.subtree) o.subtree = n.subtree;
  if (n.target !== undefined) o.target = n.target;
  if (n.targetBytes !== undefined) o.targetBytes = n.targetBytes;
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

/** Node order in a tree: by name, then (equal display names of non-UTF-8 names) by raw bytes. */
export function compareNodes(a: TreeNode, b: TreeNode): number {
  const c = compareNames(a.name, b.name);
  if (c !== 0) return c;
  return compareNames(a.nameBytes ?? '', b.nameBytes ?? '');
}

/** A key unique per entry of one folder: the name, or NUL + base64 of the raw bytes. */
export function nodeKey(n: Pick<TreeNode, 'name' | 'nameBytes'>): string {
  return n.nameBytes !== undefined ? `\0${n.nameBytes}` : n.name;
}

export function serializeTree(nodes: TreeNode[]): Buffer {
  const sorted = nodes.slice().sort(compareNodes);
  return Buffer.from(JSON.stringify({ v: 1, nodes: sorted.map(canonicalNode) }), 'utf8');
}

export function parseTree(buf: Buffer): Tree {
  const o = JSON.parse(buf.toString('utf8')) as { v: number; nodes: TreeNode[] };
  if (o.v !== 1 || !Array.isArray(o.nodes)) throw new Error('unsupported tree version');
  return { nodes: o.nodes };
}
