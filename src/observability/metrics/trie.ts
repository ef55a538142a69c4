/**
 * Label combination → whatever was resolved for it (a bundle of series), found by walking one Map
 * per label value: no key string is built and nothing is allocated once the path exists.
 */
type Node<L> = Map<string, Node<L>> & { leaf?: L };

export class Trie<L> {
  private readonly root: Node<L> = new Map();

  constructor(private readonly make: (values: readonly string[]) => L) {}

  /** The leaf at `values[path[0]], values[path[1]], …`; made on first use. */
  get(values: readonly string[], path: Int32Array): L {
    let node = this.root;
    for (let i = 0; i < path.length; i++) {
      const key = values[path[i] ?? 0] ?? '';
      let next = node.get(key);
      if (next === undefined) {
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    let leaf = node.leaf;
    if (leaf === undefined) {
      leaf = this.make(values);
      node.leaf = leaf;
    }
    return leaf;
  }
}
