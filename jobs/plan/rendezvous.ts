/**
 * Rendezvous (highest-random-weight) hashing: a key goes to the node with the highest
 * weight(node, key). The same key always lands on the same node, and adding a node moves only
 * the ~1/N of keys that the new node now wins. The weight is cyrb53 (a public-domain 53-bit
 * string hash built on Math.imul) of the key, seeded per node: deterministic on every runtime,
 * fast, and uniform enough for placement (a test checks the spread). Not a security hash.
 */

function cyrb53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const seeds = new Map<string, number>();

function seedOf(node: string): number {
  let seed = seeds.get(node);
  if (seed === undefined) {
    seed = cyrb53(node, 0x9e3779b9) >>> 0;
    seeds.set(node, seed);
  }
  return seed;
}

/** The node that wins `key`; ties (practically impossible) go to the first in config order. */
export function pickNode(nodes: readonly string[], key: string): string {
  let best = nodes[0] ?? "";
  let bestWeight = -1;
  for (const node of nodes) {
    const weight = cyrb53(key, seedOf(node));
    if (weight > bestWeight) {
      best = node;
      bestWeight = weight;
    }
  }
  return best;
}

/** What a strategy hashes: the file's absolute path, or its parent directory. */
export function placementKey(strategy: "hash" | "hash-dir", path: string): string {
  return strategy === "hash" ? path : path.slice(0, path.lastIndexOf("/")) || "/";
}
