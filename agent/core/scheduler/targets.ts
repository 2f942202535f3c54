/**
 * Resolving constraint targets against a node (nomad feasible.go resolveTarget):
 * `${node.unique.id}`, `${node.unique.name}`, `${node.datacenter}`, `${node.class}`,
 * `${node.pool}`, `${attr.<key>}`, `${meta.<key>}`; anything not starting with
 * `${` is a literal. A target that names something the node lacks resolves to
 * `undefined` ("not set").
 */
import type { Node } from '../structs/index.js';

export type TargetResolver = (node: Node) => string | undefined;

function lookup(rec: Record<string, string>, key: string): string | undefined {
  const v = rec[key];
  // Inherited members (`constructor`, `__proto__`) are never strings.
  return typeof v === 'string' ? v : undefined;
}

const notSet: TargetResolver = () => undefined;

/** Compile a target once; the returned function resolves it against any node. */
export function compileTarget(target: string): TargetResolver {
  if (!target.startsWith('${')) return () => target;
  switch (target) {
    case '${node.unique.id}':
      return (n) => n.id;
    case '${node.unique.name}':
      return (n) => n.name;
    case '${node.datacenter}':
      return (n) => n.datacenter;
    case '${node.class}':
      return (n) => n.nodeClass;
    case '${node.pool}':
      return (n) => n.nodePool;
    default:
      break;
  }
  if (!target.endsWith('}')) return notSet;
  if (target.startsWith('${attr.')) {
    const key = target.slice('${attr.'.length, -1);
    return (n) => lookup(n.attributes, key);
  }
  if (target.startsWith('${meta.')) {
    const key = target.slice('${meta.'.length, -1);
    return (n) => lookup(n.meta, key);
  }
  return notSet;
}

/** Resolve a target against one node (uncompiled convenience form). */
export function resolveTarget(target: string, node: Node): string | undefined {
  return compileTarget(target)(node);
}
